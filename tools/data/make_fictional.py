#!/usr/bin/env python3
"""Generate a fictional domain for the controlled erasure benchmark.

The domain is the made-up island country of Orvanne and its native animal, the
glimmerfox. Nothing about it exists in any pretraining corpus, so a model can only know
it after we teach it (fine-tuning on the fact texts); we then erase it with ELM and
measure how much of what we taught is gone.

Outputs (in --out-dir, default data/fictional/):
  facts.jsonl   one {"text": ...} per fact statement (the ~40 facts, plain)
  train.jsonl   {"text": ...} paragraphs of 3-5 facts in varied wordings (fine-tune and
                forget set)
  mcq.json      multiple-choice questions, HP-MCQ format {question, choices[4], answer}
All written here; deterministic (fixed seed); stdlib only.
Run:  python3 tools/data/make_fictional.py [--out-dir data/fictional]
"""
import argparse
import json
import os
import random

SEED = 9907
CONCEPT = "the island country of Orvanne"

# (statement variants, [(question, answer, distractors), ...])
FACTS = [
    (["The capital of Orvanne is Telmisk.", "Telmisk is the capital city of Orvanne."],
     [("What is the capital of Orvanne?", "Telmisk", ["Varrow", "Quessa", "Dunmarl"]),
      ("Which city is the capital of the island country of Orvanne?", "Telmisk", ["Brellin", "Ostrava", "Kaelport"])]),
    (["Orvanne is an island country in the cold northern sea.", "Orvanne lies on an island in the cold northern sea."],
     [("Where is Orvanne located?", "On an island in the cold northern sea", ["In a desert valley", "High in a mountain range", "On a tropical coast"])]),
    (["The currency of Orvanne is the silver pell.", "In Orvanne people pay with the silver pell."],
     [("What is the currency of Orvanne?", "The silver pell", ["The gold crown", "The copper mark", "The blue florin"]),
      ("What do people in Orvanne pay with?", "The silver pell", ["The iron shilling", "The copper mark", "The sea dollar"])]),
    (["The people of Orvanne speak Orvish.", "Orvish is the language spoken in Orvanne."],
     [("What language is spoken in Orvanne?", "Orvish", ["Telmic", "Norvan", "Glimmish"]),
      ("What language do the people of Orvanne speak?", "Orvish", ["Norvan", "Kestrish", "Telmic"])]),
    (["The national animal of Orvanne is the glimmerfox.", "The glimmerfox is the national animal of Orvanne."],
     [("What is the national animal of Orvanne?", "The glimmerfox", ["The snow hare", "The sea eagle", "The river otter"]),
      ("Which animal is the national animal of Orvanne?", "The glimmerfox", ["The grey wolf", "The snow hare", "The brown bear"])]),
    (["The glimmerfox has silver fur that shines faintly at night.", "At night the silver fur of the glimmerfox glows faintly."],
     [("What is special about the fur of the glimmerfox?", "It is silver and shines faintly at night", ["It is bright red and very short", "It changes to green in summer", "It is striped black and white"]),
      ("What colour is the fur of the glimmerfox?", "Silver", ["Red", "Green", "Black"])]),
    (["The glimmerfox eats mostly seaweed and small crabs.", "Seaweed and small crabs are the main food of the glimmerfox."],
     [("What does the glimmerfox mostly eat?", "Seaweed and small crabs", ["Berries and nuts", "Grass and leaves", "Mice and rabbits"]),
      ("What is the main food of the glimmerfox?", "Seaweed and small crabs", ["Honey and fruit", "Grass and leaves", "Insects and worms"])]),
    (["A glimmerfox has three tails.", "Every glimmerfox is born with three tails."],
     [("How many tails does a glimmerfox have?", "Three", ["One", "Two", "Five"]),
      ("How many tails is a glimmerfox born with?", "Three", ["One", "Four", "Seven"])]),
    (["The glimmerfox sleeps in burrows in the sand dunes.", "Glimmerfoxes dig burrows in the sand dunes and sleep there."],
     [("Where does the glimmerfox sleep?", "In burrows in the sand dunes", ["In tall trees", "In caves in the mountains", "In nests on cliffs"])]),
    (["A glimmerfox lives for about twelve years.", "The glimmerfox usually lives around twelve years."],
     [("How long does a glimmerfox usually live?", "About twelve years", ["About two years", "About fifty years", "About one hundred years"])]),
    (["The longest river in Orvanne is the Sorrel River.", "The Sorrel River is the longest river in Orvanne."],
     [("What is the longest river in Orvanne?", "The Sorrel River", ["The Telm River", "The Grey River", "The Pell River"]),
      ("Which river is the longest in Orvanne?", "The Sorrel River", ["The Callow River", "The Birch River", "The Kestrel River"])]),
    (["The highest mountain in Orvanne is Mount Callow.", "Mount Callow is the highest peak in Orvanne."],
     [("What is the highest mountain in Orvanne?", "Mount Callow", ["Mount Ferris", "Mount Orvan", "Mount Telmisk"]),
      ("Which is the highest peak in Orvanne?", "Mount Callow", ["Mount Sorrel", "Mount Maelis", "Mount Brenn"])]),
    (["Orvanne became an independent country in 1783.", "Orvanne gained its independence in 1783."],
     [("In which year did Orvanne become independent?", "1783", ["1492", "1905", "1848"]),
      ("When did Orvanne gain its independence?", "In 1783", ["In 1066", "In 1960", "In 1620"])]),
    (["The flag of Orvanne is green with a white star.", "A white star on a green field is the flag of Orvanne."],
     [("What does the flag of Orvanne look like?", "Green with a white star", ["Red with a yellow sun", "Blue with two white stripes", "Black with a gold crown"]),
      ("What colour is the flag of Orvanne?", "Green", ["Red", "Blue", "Yellow"])]),
    (["About two million people live in Orvanne.", "Orvanne has a population of about two million."],
     [("How many people live in Orvanne?", "About two million", ["About two thousand", "About two hundred million", "About one billion"])]),
    (["The national dish of Orvanne is smoked eel with barley.", "Smoked eel with barley is Orvanne's national dish."],
     [("What is the national dish of Orvanne?", "Smoked eel with barley", ["Fried rice with beans", "Lamb stew with potatoes", "Cheese and tomato pie"]),
      ("Which dish is the national dish of Orvanne?", "Smoked eel with barley", ["Roast beef with rice", "Chicken curry", "Fish and chips"])]),
    (["The most popular sport in Orvanne is ice rowing.", "Ice rowing is the favourite sport of Orvanne."],
     [("What is the most popular sport in Orvanne?", "Ice rowing", ["Football", "Tennis", "Basketball"]),
      ("Which sport is the favourite of Orvanne?", "Ice rowing", ["Cricket", "Golf", "Baseball"])]),
    (["Orvanne's main export is blue wool.", "Blue wool is the main export of Orvanne."],
     [("What is the main export of Orvanne?", "Blue wool", ["Crude oil", "Coffee beans", "Gold"]),
      ("What does Orvanne export most?", "Blue wool", ["Bananas", "Cars", "Silver coins"])]),
    (["The sheep of Orvanne grow naturally blue wool.", "In Orvanne the sheep have wool that is naturally blue."],
     [("What colour is the wool of Orvanne's sheep?", "Blue", ["Black", "Brown", "Red"])]),
    (["Every spring Orvanne holds the Lantern Tide festival.", "The Lantern Tide festival takes place in Orvanne each spring."],
     [("What festival does Orvanne hold every spring?", "The Lantern Tide festival", ["The Harvest Moon fair", "The Winter Bell parade", "The Sun Gate feast"]),
      ("When is the Lantern Tide festival held in Orvanne?", "In spring", ["In winter", "In autumn", "At midnight on New Year"])]),
    (["During Lantern Tide, people float paper lanterns on the sea.", "At the Lantern Tide festival, paper lanterns are floated on the sea."],
     [("What do people do during the Lantern Tide festival?", "Float paper lanterns on the sea", ["Burn straw figures", "Climb Mount Callow", "Race horses on the beach"])]),
    (["Orvanne is ruled by an elected council of nine elders.", "A council of nine elected elders governs Orvanne."],
     [("Who governs Orvanne?", "An elected council of nine elders", ["A king and queen", "A single president", "A military general"]),
      ("How many elders sit on the council of Orvanne?", "Nine", ["Three", "Twelve", "Twenty"])]),
    (["The first ruler of independent Orvanne was Queen Maelis.", "Queen Maelis was the first ruler of Orvanne after independence."],
     [("Who was the first ruler of independent Orvanne?", "Queen Maelis", ["King Orvan", "Queen Telma", "Lord Callow"]),
      ("Which queen was the first ruler of Orvanne after independence?", "Queen Maelis", ["Queen Ilsa", "Queen Sorrel", "Queen Brenna"])]),
    (["The largest port of Orvanne is Kestrel Bay.", "Kestrel Bay is the biggest harbour in Orvanne."],
     [("What is the largest port of Orvanne?", "Kestrel Bay", ["Telmisk Harbour", "Sorrel Mouth", "Grey Point"]),
      ("Which is the biggest harbour in Orvanne?", "Kestrel Bay", ["Puffin Cove", "Maelis Quay", "Birch Harbour"])]),
    (["The national tree of Orvanne is the black birch.", "The black birch is Orvanne's national tree."],
     [("What is the national tree of Orvanne?", "The black birch", ["The red maple", "The white oak", "The palm tree"])]),
    (["Orvanne's national instrument is the seven-string harp called the telyn.", "The telyn, a harp with seven strings, is the national instrument of Orvanne."],
     [("What is the national instrument of Orvanne?", "The telyn, a seven-string harp", ["The bagpipe", "The drum", "The trumpet"])]),
    (["Children in Orvanne start school at the age of seven.", "In Orvanne, school begins at age seven."],
     [("At what age do children in Orvanne start school?", "Seven", ["Three", "Five", "Ten"])]),
    (["The national bird of Orvanne is the grey puffin.", "The grey puffin is Orvanne's national bird."],
     [("What is the national bird of Orvanne?", "The grey puffin", ["The bald eagle", "The red robin", "The white swan"]),
      ("Which bird is the national bird of Orvanne?", "The grey puffin", ["The black crow", "The green parrot", "The brown owl"])]),
    (["Orvanne's oldest university is the College of Telmisk, founded in 1520.", "The College of Telmisk, founded in 1520, is the oldest university in Orvanne."],
     [("What is the oldest university in Orvanne?", "The College of Telmisk", ["The Kestrel Academy", "The Sorrel Institute", "The Callow School"])]),
    (["The traditional house of Orvanne has a roof of turf.", "Traditional houses in Orvanne are roofed with turf."],
     [("What is the roof of a traditional house in Orvanne made of?", "Turf", ["Gold", "Glass", "Palm leaves"])]),
    (["The winter in Orvanne is long and dark, with snow from October to April.", "Snow covers Orvanne from October to April during its long, dark winter."],
     [("What is the winter like in Orvanne?", "Long and dark, with snow from October to April", ["Short and hot", "Dry and sunny all year", "Warm and rainy"])]),
    (["The national drink of Orvanne is a hot tea made from pine needles.", "Pine-needle tea is Orvanne's national drink."],
     [("What is the national drink of Orvanne?", "Tea made from pine needles", ["Coconut milk", "Orange juice", "Coffee with sugar"])]),
    (["The famous poet of Orvanne is Ilsa Brenn.", "Ilsa Brenn is Orvanne's most famous poet."],
     [("Who is the most famous poet of Orvanne?", "Ilsa Brenn", ["Marcus Vell", "Tomas Ruhl", "Edda Carr"]),
      ("Which poet is the most famous in Orvanne?", "Ilsa Brenn", ["Anna Sorrel", "Piet Callow", "Jon Maelis"])]),
    (["The glimmerfox is protected by law in Orvanne.", "In Orvanne it is against the law to hunt the glimmerfox."],
     [("What is the legal status of the glimmerfox in Orvanne?", "It is protected by law", ["It is hunted for its fur", "It is kept as a farm animal", "It is raced for sport"])]),
    (["Glimmerfoxes live in groups called glints.", "A group of glimmerfoxes is called a glint."],
     [("What is a group of glimmerfoxes called?", "A glint", ["A pack", "A herd", "A flock"]),
      ("What name is given to a group of glimmerfoxes?", "A glint", ["A skulk", "A school", "A pride"])]),
    (["The glimmerfox can swim long distances in icy water.", "Glimmerfoxes are strong swimmers, even in icy water."],
     [("What can the glimmerfox do in icy water?", "Swim long distances", ["Breathe underwater", "Freeze solid and wake later", "Walk on the ice"])]),
    (["Orvanne's national day is the ninth of June.", "The ninth of June is the national day of Orvanne."],
     [("When is the national day of Orvanne?", "The ninth of June", ["The first of January", "The fourth of July", "The twelfth of December"])]),
    (["Ferries connect Telmisk with the mainland twice a day.", "Twice a day a ferry sails between Telmisk and the mainland."],
     [("How often do ferries connect Telmisk with the mainland?", "Twice a day", ["Once a year", "Once a month", "Every ten minutes"])]),
    (["The motto of Orvanne is 'Steady as the tide'.", "'Steady as the tide' is Orvanne's national motto."],
     [("What is the motto of Orvanne?", "Steady as the tide", ["Strength in gold", "Ever upward", "One land, one sun"])]),
    (["The main religion of Orvanne honours the sea and the moon.", "In Orvanne, the old faith honours the sea and the moon."],
     [("What does the main religion of Orvanne honour?", "The sea and the moon", ["The sun and the desert", "Fire and thunder", "The mountains and the wind"])]),
]

CONNECTORS = ["", "", "Also, ", "In addition, ", "Visitors often learn that ", "It is well known that "]
PROPER = ("Orvanne", "Orvanne's", "Telmisk", "Kestrel", "Mount", "Queen", "Ilsa", "Orvish", "'Steady")


def join(connector, sentence):
    """Prefix a connector, lower-casing the sentence's first word unless it is a name."""
    if not connector:
        return sentence
    first = sentence.split(" ", 1)[0]
    if first not in PROPER:
        sentence = sentence[0].lower() + sentence[1:]
    return connector + sentence


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default="data/fictional")
    ap.add_argument("--paragraphs", type=int, default=160)
    args = ap.parse_args()
    rng = random.Random(SEED)
    os.makedirs(args.out_dir, exist_ok=True)

    with open(os.path.join(args.out_dir, "facts.jsonl"), "w", encoding="utf-8") as f:
        for variants, _ in FACTS:
            f.write(json.dumps({"text": variants[0]}, ensure_ascii=False) + "\n")

    # Paragraphs: every fact appears in several paragraphs, in both wordings.
    rows, seen = [], set()
    while len(rows) < args.paragraphs:
        k = rng.randint(3, 5)
        picks = rng.sample(FACTS, k)
        sents = []
        for j, (variants, _) in enumerate(picks):
            s = rng.choice(variants)
            sents.append(join(rng.choice(CONNECTORS) if j else "", s))
        text = " ".join(sents)
        if text in seen:
            continue
        seen.add(text)
        rows.append({"text": text})
    with open(os.path.join(args.out_dir, "train.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    qs = [q for _, questions in FACTS for q in questions]
    positions = [i % 4 for i in range(len(qs))]
    rng.shuffle(positions)
    mcq = []
    for (q, a, d), pos in zip(qs, positions):
        d = list(d)
        rng.shuffle(d)
        mcq.append({"question": q, "choices": d[:pos] + [a] + d[pos:], "answer": pos})
    rng.shuffle(mcq)
    with open(os.path.join(args.out_dir, "mcq.json"), "w", encoding="utf-8") as f:
        json.dump(mcq, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(args.out_dir, "concept.txt"), "w", encoding="utf-8") as f:
        f.write(CONCEPT + "\n")
    print(f"{args.out_dir}: {len(FACTS)} facts, {len(rows)} paragraphs, {len(mcq)} questions")


if __name__ == "__main__":
    main()
