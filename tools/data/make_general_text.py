#!/usr/bin/env python3
"""Generate data/general-text.jsonl: general explanatory paragraphs for perplexity.

Held-out text for the specificity check (perplexity before/after erasure). The topics
are deliberately different from the retain set (tools/data/make_retain.py), so the
adapter is never trained on them: the night sky, the sea, the human body, libraries
and reading, towns and transport, money, seasons and nature, school, crafts and
building, rivers and water, food from farm to table, communication.

Sentences are written for this project; a paragraph is 4-6 sentences of one topic in
a shuffled order. Deterministic (fixed seed), stdlib only.
Run:  python3 tools/data/make_general_text.py [--out data/general-text.jsonl] [--count 100]
"""
import argparse
import json
import random

SEED = 4111

TOPICS = {
    "sky": [
        "On a clear night far from city lights, thousands of stars can be seen with the naked eye.",
        "The Moon does not make its own light; it reflects the light of the Sun.",
        "Over about four weeks the Moon goes through its phases, from new moon to full moon and back.",
        "Planets look like bright stars, but they do not twinkle as much.",
        "The Milky Way is the galaxy we live in, and on dark nights it looks like a pale band of light.",
        "A shooting star is really a small piece of rock burning up as it enters the atmosphere.",
        "Astronomers use telescopes to collect more light than the human eye can gather.",
        "The Earth takes one year to travel around the Sun.",
        "Sailors once found their way across the ocean by watching the positions of the stars.",
        "An eclipse of the Sun happens when the Moon passes between the Sun and the Earth.",
    ],
    "sea": [
        "The oceans cover more than two thirds of the surface of the Earth.",
        "Tides rise and fall twice a day, pulled mostly by the gravity of the Moon.",
        "Sea water is salty because rivers carry dissolved minerals into the ocean over millions of years.",
        "Coral reefs are built by tiny animals and are home to a huge variety of fish.",
        "Deep below the surface the water is cold and completely dark.",
        "Waves are mostly made by the wind blowing across the water.",
        "Many fishing towns depend on the sea for food and for work.",
        "Lighthouses warn ships away from rocks and guide them safely into harbour.",
        "Whales are mammals, so they must come to the surface to breathe air.",
        "Beaches slowly change shape as storms move sand along the shore.",
    ],
    "body": [
        "The heart beats around seventy times a minute when we are resting.",
        "Bones give the body its shape and protect soft organs such as the brain.",
        "Muscles work by pulling, never by pushing, so they often come in pairs.",
        "The skin is the largest organ of the human body.",
        "When we breathe in, the lungs take oxygen from the air and pass it into the blood.",
        "Sleep gives the body time to repair itself and helps the brain store memories.",
        "Teeth need brushing twice a day to stay healthy.",
        "The stomach uses acid to help break down the food we eat.",
        "Our eyes adjust slowly when we walk from bright sunlight into a dark room.",
        "Regular exercise makes the heart and lungs stronger.",
    ],
    "library": [
        "A public library lends books for free to anyone who joins.",
        "Librarians help visitors find information and recommend good books.",
        "Many libraries also lend films, music and even tools.",
        "Reading to young children every day helps them learn new words.",
        "Books in a library are arranged by subject so that they are easy to find.",
        "Quiet reading rooms give students a calm place to study.",
        "Some people prefer paper books, while others like reading on a screen.",
        "Old newspapers are often kept in libraries so that historians can study them.",
        "A good story can carry a reader to places they have never visited.",
        "Libraries often hold reading groups where people meet to talk about a book.",
    ],
    "town": [
        "Buses and trams carry thousands of people across the city every morning.",
        "Cycle lanes make it safer for people to ride to work or school.",
        "The town square is where people meet, shop and sit in the sun.",
        "Traffic lights control the flow of cars at busy crossings.",
        "Many old towns grew up around a market, a bridge or a harbour.",
        "Parks give city people a place to walk, play and relax among trees.",
        "Underground railways allow trains to run beneath crowded streets.",
        "Street lamps make the roads safer to walk along at night.",
        "Planners try to put schools, shops and homes within walking distance of each other.",
        "Rush hour is the busiest time on the roads, when most people travel to or from work.",
    ],
    "money": [
        "People use money to buy goods and services instead of swapping one thing for another.",
        "A budget is a plan that shows how much money comes in and how much goes out.",
        "Saving a little every month can add up to a large amount over the years.",
        "Banks keep people's money safe and lend money to those who need it.",
        "Prices tend to rise slowly over time, which is called inflation.",
        "Many shoppers compare prices before buying something expensive.",
        "Coins and paper notes are now often replaced by cards and phone payments.",
        "A receipt is a record of what was bought and how much was paid.",
        "Small businesses are an important part of most local economies.",
        "Interest is the extra money paid for borrowing, or earned for saving.",
    ],
    "nature": [
        "In autumn many trees lose their leaves to save water during the cold months.",
        "Bees carry pollen from flower to flower, which helps plants make seeds.",
        "Some birds fly thousands of kilometres every year to spend the winter somewhere warmer.",
        "Hedgehogs and bears sleep through much of the winter.",
        "In spring the days grow longer and the first flowers appear.",
        "Woodlands are home to many animals, from tiny insects to deer.",
        "Mushrooms grow best in damp, shady places.",
        "A single old oak tree can support hundreds of different kinds of insects.",
        "Frogs lay their eggs in ponds, and the tadpoles slowly grow legs.",
        "Squirrels bury nuts in autumn and dig many of them up again in winter.",
    ],
    "school": [
        "Most children start school at around five or six years old.",
        "Teachers plan lessons so that new ideas build on what pupils already know.",
        "Homework gives students a chance to practise what they learned in class.",
        "Science lessons often include experiments that pupils carry out themselves.",
        "The school day usually has a break in the morning and a longer one at lunchtime.",
        "Learning a second language is easier when it starts at a young age.",
        "Exams at the end of the year show how much students have learned.",
        "School trips to museums and farms make lessons come alive.",
        "Good friends at school can make the hardest day feel easier.",
        "Many schools have a library, a sports field and a music room.",
    ],
    "building": [
        "Bricks are made from clay that is shaped and then baked hard in a kiln.",
        "A strong foundation stops a house from sinking or cracking.",
        "Carpenters measure twice and cut once, so that wood is not wasted.",
        "Bridges must be designed to carry their own weight as well as the traffic on them.",
        "Roofs slope so that rain and snow run off instead of collecting.",
        "Knitting turns a long piece of yarn into warm clothing, one loop at a time.",
        "Potters shape wet clay on a spinning wheel before firing it.",
        "Good insulation keeps a house warm in winter and cool in summer.",
        "Scaffolding lets builders work safely high above the ground.",
        "Glass is made by melting sand at a very high temperature.",
    ],
    "water": [
        "Water evaporates from seas and lakes, forms clouds and falls again as rain.",
        "Rivers begin as small streams high in the hills.",
        "Clean drinking water is treated to remove dirt and germs before it reaches the tap.",
        "A dam holds back a river to make a lake, and can also produce electricity.",
        "Wetlands soak up water like a sponge and help to prevent floods.",
        "Most of the fresh water on Earth is frozen in ice caps and glaciers.",
        "Wells have been dug for thousands of years to reach water under the ground.",
        "Saving water at home can be as simple as turning off the tap while brushing teeth.",
        "Canals were built to carry heavy goods by boat before railways were common.",
        "Waterfalls form where a river flows over a band of hard rock.",
    ],
    "farm": [
        "Wheat is harvested in late summer, then ground into flour at a mill.",
        "Dairy cows are milked once or twice every day.",
        "Farmers rotate their crops to keep the soil rich.",
        "Apples are picked in autumn and can be stored for months in a cool place.",
        "Tractors have made farm work much faster than it was a century ago.",
        "Rice grows best in fields that are flooded with shallow water.",
        "Farmers' markets let people buy food directly from those who grow it.",
        "Hens lay more eggs when the days are long and bright.",
        "Sheep are sheared in early summer, and their wool is spun into yarn.",
        "Greenhouses let growers raise vegetables even when it is cold outside.",
    ],
    "communication": [
        "Letters were once the main way to send news to friends far away.",
        "Postal workers sort millions of letters and parcels every day.",
        "A telephone call lets two people talk even when they are on different continents.",
        "Newspapers report the news of the day and are printed overnight.",
        "Sign language lets deaf people talk with their hands and faces.",
        "Email arrives within seconds, even across the world.",
        "Radio stations broadcast music, news and stories to listeners everywhere.",
        "Before writing was invented, stories were passed on by word of mouth.",
        "A good conversation depends as much on listening as on talking.",
        "Maps, signs and symbols help people understand each other without words.",
    ],
}


def make(count, seed=SEED):
    rng = random.Random(seed)
    names = sorted(TOPICS)
    out, seen = [], set()
    i = 0
    while len(out) < count:
        topic = names[i % len(names)]
        i += 1
        sents = rng.sample(TOPICS[topic], rng.randint(4, 6))
        text = " ".join(sents)
        if text in seen:
            continue
        seen.add(text)
        out.append({"text": text, "topic": topic})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="data/general-text.jsonl")
    ap.add_argument("--count", type=int, default=100)
    args = ap.parse_args()
    rows = make(args.count)
    with open(args.out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{args.out}: {len(rows)} paragraphs")


if __name__ == "__main__":
    main()
