#!/usr/bin/env python3
"""Generate data/retain.jsonl: short paragraphs on everyday topics (ELM's retain set).

The retain set teaches the adapter to leave unrelated knowledge alone, so its texts are
about anything but the erased concept: cooking, gardening, weather, sports, geography,
travel, the history of technology, household chores, pets, music, health habits.

Each paragraph is composed from sentence templates written for this project, with slots
filled from small word lists; 3-5 sentences from one topic make a paragraph of 100-700
characters. Deterministic (fixed seed), stdlib only.
Run:  python3 tools/data/make_retain.py [--out data/retain.jsonl] [--count 400]
"""
import argparse
import json
import random

SEED = 7301

FILL = {
    "veg": ["carrots", "onions", "leeks", "courgettes", "peppers", "potatoes", "mushrooms", "spinach",
            "green beans", "tomatoes", "cabbage", "sweet potatoes", "parsnips", "broccoli"],
    "herb": ["parsley", "thyme", "basil", "rosemary", "coriander", "dill", "mint", "oregano", "chives"],
    "dish": ["vegetable soup", "lentil stew", "tomato sauce", "fried rice", "omelette", "pancakes",
             "bean chilli", "roast chicken", "fish pie", "porridge", "risotto", "flatbread", "curry"],
    "grain": ["rice", "barley", "couscous", "oats", "pasta", "quinoa", "bulgur wheat"],
    "minutes": ["five", "ten", "fifteen", "twenty", "twenty-five", "thirty", "forty"],
    "plant": ["tomatoes", "runner beans", "lettuces", "sunflowers", "strawberries", "roses", "potatoes",
              "garlic", "sweet peas", "raspberries", "courgettes", "tulips", "lavender"],
    "month": ["March", "April", "May", "June", "July", "August", "September", "October"],
    "weather": ["a cold front", "a band of rain", "high pressure", "a sea breeze", "a warm front",
                "low cloud", "a thunderstorm", "morning fog", "a dry easterly wind"],
    "region": ["the coast", "the hills", "the northern valleys", "the city", "the islands",
               "the southern plains", "the lakes district", "the river basin"],
    "sport": ["football", "tennis", "cricket", "basketball", "rowing", "cycling", "swimming",
              "volleyball", "hockey", "badminton", "athletics", "rugby"],
    "place_type": ["market town", "fishing village", "mountain town", "river port", "university city",
                   "seaside resort", "farming village"],
    "river": ["the Danube", "the Rhine", "the Loire", "the Mississippi", "the Mekong", "the Volga",
              "the Amazon", "the Zambezi", "the Ganges", "the Murray"],
    "range": ["the Alps", "the Andes", "the Rockies", "the Himalayas", "the Pyrenees", "the Atlas Mountains",
              "the Carpathians", "the Urals"],
    "invention": [("the printing press", "the fifteenth century", "books became cheaper and more common"),
                  ("the steam engine", "the eighteenth century", "factories and railways spread quickly"),
                  ("the telegraph", "the nineteenth century", "messages crossed continents in minutes"),
                  ("the telephone", "the 1870s", "people could speak to each other across long distances"),
                  ("the electric light bulb", "the late nineteenth century", "streets and homes stayed bright after dark"),
                  ("the radio", "the early twentieth century", "news and music reached distant homes"),
                  ("the transistor", "1947", "electronics became smaller and cheaper"),
                  ("the personal computer", "the 1970s and 1980s", "offices and homes changed the way they worked"),
                  ("the bicycle", "the nineteenth century", "ordinary people could travel further on their own"),
                  ("the refrigerator", "the early twentieth century", "food could be kept fresh for days"),
                  ("the sewing machine", "the nineteenth century", "clothes could be made much faster"),
                  ("the washing machine", "the twentieth century", "laundry took far less time and effort"),
                  ("the mobile phone", "the 1980s and 1990s", "people could call from almost anywhere"),
                  ("the jet engine", "the 1930s and 1940s", "air travel became fast and affordable")],
    "pet": ["dog", "cat", "rabbit", "hamster", "goldfish", "parrot", "guinea pig", "tortoise"],
    "food_pet": ["fresh water", "a balanced diet", "regular meals", "clean bedding", "toys to play with"],
    "instrument": ["the piano", "the guitar", "the violin", "the flute", "the drums", "the trumpet",
                   "the cello", "the clarinet"],
    "chore": ["washing the dishes", "vacuuming the carpets", "folding the laundry", "watering the plants",
              "cleaning the windows", "taking out the recycling", "dusting the shelves", "changing the bed sheets"],
    "exercise": ["a brisk walk", "a short jog", "a bike ride", "a swim", "some stretching", "a yoga session",
                 "a game of tennis", "a dance class"],
    "name": ["Maria", "Tom", "Aisha", "Lukas", "Priya", "Daniel", "Sofia", "Kenji", "Amara", "Oliver",
             "Elena", "Samuel", "Nadia", "Marco", "Grace", "Ivan", "Leila", "Pedro", "Hannah", "Yusuf"],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "number": ["two", "three", "four", "five", "six"],
    "bird": ["robins", "sparrows", "blackbirds", "blue tits", "finches", "starlings", "wrens"],
}

TOPICS = {
    "cooking": [
        "Start by chopping the {veg} and the {veg} into small, even pieces.",
        "A good {dish} begins with a slow, gentle fry of onions in a little oil.",
        "Add the {herb} at the very end so that its fresh flavour is not lost.",
        "Let the {dish} simmer for {minutes} minutes, stirring now and then so nothing sticks.",
        "Rinse the {grain} under cold water before cooking to remove extra starch.",
        "{name} likes to serve {dish} with a bowl of {grain} and a sprinkle of {herb}.",
        "Taste the sauce before serving and add a pinch of salt if it seems flat.",
        "Leftover {veg} can be roasted in a hot oven until the edges turn golden.",
        "Most home cooks keep a jar of dried {herb} in the cupboard for busy evenings.",
        "Cooking with seasonal {veg} is usually cheaper and the flavour is better.",
        "A sharp knife is safer than a blunt one, because it does not slip on the skin of the {veg}.",
        "If the {dish} is too thick, loosen it with a splash of water or stock.",
    ],
    "gardening": [
        "Sow {plant} in {month}, once the soil has warmed up a little.",
        "Water the {plant} early in the morning so the leaves dry before the sun gets hot.",
        "A layer of compost around the {plant} keeps the soil moist and feeds the roots.",
        "{name} grows {plant} in large pots on the balcony, where they get sun all afternoon.",
        "Pull out weeds while they are small; they come up easily after rain.",
        "Slugs love young {plant}, so many gardeners check their beds in the evening.",
        "Most vegetables need at least six hours of sunlight a day to grow well.",
        "By {month} the {plant} are usually ready to pick, and there is often more than one family can eat.",
        "Rotating crops from bed to bed each year helps keep the soil healthy.",
        "A simple rain barrel under the gutter collects water for dry weeks.",
        "{bird} often visit the garden in winter, looking for seeds and insects.",
        "Cut back faded flowers and the plant will often bloom again.",
    ],
    "weather": [
        "Forecasters expect {weather} to reach {region} by the evening.",
        "Temperatures will stay mild in {region}, with light winds and a few sunny spells.",
        "{weather} brought heavy showers to {region} overnight, but the skies cleared by noon.",
        "On {weekday} the wind will pick up, and people near {region} should expect gusts.",
        "After a week of {weather}, farmers in {region} were glad to see the sun.",
        "Spring weather can change quickly, so it is wise to carry a light jacket.",
        "Fog tends to form on calm, clear nights when the ground cools quickly.",
        "Thunderstorms usually build on hot afternoons when warm, moist air rises fast.",
        "The weekend looks dry in {region}, with cool mornings and pleasant afternoons.",
        "Snow is possible on high ground, while lower areas will see cold rain.",
        "A rainbow appears when sunlight is split by raindrops in the air.",
    ],
    "sports": [
        "The local {sport} club trains every {weekday} evening at the community ground.",
        "{name} took up {sport} last year and now plays in a weekend league.",
        "In {sport}, good footwork matters as much as strength.",
        "The final went to the last minute, and the home crowd cheered every point.",
        "Coaches say that rest days are as important as training for young athletes.",
        "Warming up for ten minutes before {sport} lowers the risk of injury.",
        "The team won {number} matches in a row before losing narrowly on {weekday}.",
        "Many schools offer {sport} and {sport} as after-school activities.",
        "A good referee keeps the game fair and lets it flow.",
        "After the match, both teams shook hands and thanked the volunteers.",
        "{name} says the best part of {sport} is the friends made along the way.",
    ],
    "geography": [
        "{river} flows past farms, towns and forests before reaching the sea.",
        "The {place_type} sits in a valley at the foot of {range}.",
        "{range} stretch for hundreds of kilometres and shape the weather on both sides.",
        "Many cities grew up along rivers such as {river}, which carried trade and fresh water.",
        "Deltas form where a river slows down and drops the sand and mud it carries.",
        "Deserts receive very little rain, yet many plants and animals have adapted to live there.",
        "Islands can be formed by volcanoes rising from the sea floor.",
        "The climate near the coast is usually milder than it is far inland.",
        "Glaciers in {range} carved deep valleys over thousands of years.",
        "A {place_type} near {river} is famous for its weekly market and old stone bridge.",
        "Maps use lines of latitude and longitude to describe any place on Earth.",
    ],
    "technology_history": [
        "{invention0} appeared in {invention1}, and soon {invention2}.",
        "Before {invention0}, most people relied on slower and more expensive methods.",
        "Historians point out that {invention0} built on many earlier, smaller ideas.",
        "When {invention0} arrived in {invention1}, few people guessed how much it would change daily life.",
        "Museums often display early versions of {invention0} next to modern ones.",
        "The spread of {invention0} meant that {invention2}.",
        "Engineers improved {invention0} step by step, making it cheaper, safer and more reliable.",
    ],
    "travel": [
        "{name} spent {number} days in a small {place_type}, walking everywhere on foot.",
        "Trains are a relaxing way to travel, with time to read and watch the landscape go by.",
        "Pack light: a small bag is easier to carry up stairs and onto buses.",
        "The {place_type} has a bakery that opens at six, and the queue forms early.",
        "Travellers are advised to check opening hours, as many shops close at lunchtime.",
        "A ferry runs between the islands twice a day in summer and once a day in winter.",
        "Learning a few words of the local language makes people smile and helps a lot.",
        "From the top of the hill there is a view over {river} and the rooftops below.",
        "The youth hostel offers cheap beds, a shared kitchen and a board of local tips.",
    ],
    "home": [
        "{name} does the chores on {weekday}: {chore} first, then {chore}.",
        "A simple routine of {chore} every few days keeps the house tidy.",
        "Opening the windows for a few minutes each morning lets fresh air in.",
        "Vinegar and warm water make a cheap cleaner for windows and mirrors.",
        "Labelled boxes make it much easier to find things in the attic.",
        "Turning the heating down by one degree can save a surprising amount of energy.",
        "Many families share out the jobs, so that {chore} is never left to one person.",
        "A small toolbox with a hammer, screwdrivers and tape solves most little repairs.",
    ],
    "pets": [
        "A {pet} needs {food_pet} and {food_pet} to stay healthy.",
        "{name} adopted a {pet} from the shelter last spring.",
        "Vets recommend a check-up once a year, even for a {pet} that seems well.",
        "Young animals learn quickly, so short, friendly training sessions work best.",
        "A {pet} can be a wonderful companion for older people living alone.",
        "Before getting a {pet}, think about who will look after it during holidays.",
        "Most pets are happiest with a regular routine for meals and exercise.",
    ],
    "music": [
        "{name} has been learning {instrument} for {number} years and practises every evening.",
        "Playing {instrument} slowly at first helps the fingers learn the right movements.",
        "The town orchestra gives a free concert in the park every summer.",
        "Many people find that music helps them relax after a long day.",
        "A metronome keeps a steady beat while you practise.",
        "The choir meets on {weekday} nights in the old church hall.",
        "Listening to many styles of music can inspire new ideas for your own playing.",
    ],
    "health": [
        "A daily habit of {exercise} can lift the mood and improve sleep.",
        "Drinking enough water matters more on hot days and after exercise.",
        "{name} tries to go for {exercise} every {weekday} before work.",
        "Doctors suggest eating plenty of fruit and vegetables every day.",
        "Getting to bed at the same time each night helps the body keep a regular rhythm.",
        "Short breaks from the screen rest the eyes and the back.",
        "Washing hands with soap is one of the simplest ways to avoid catching a cold.",
        "Even ten minutes of {exercise} is better than none at all.",
    ],
}


def fill(rng, template, inv):
    out = template.replace("{invention0}", inv[0]).replace("{invention1}", inv[1]).replace("{invention2}", inv[2])
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        key = out[start + 1:end]
        out = out[:start] + rng.choice(FILL[key]) + out[end + 1:]
    return out[0].upper() + out[1:]


def paragraph(rng, topic):
    sents = rng.sample(TOPICS[topic], rng.randint(3, 5))
    inv = rng.choice(FILL["invention"])  # one invention per paragraph
    return " ".join(fill(rng, s, inv) for s in sents)


def make(count, seed=SEED, topics=TOPICS):
    rng = random.Random(seed)
    names = sorted(topics)
    out, seen = [], set()
    i = 0
    while len(out) < count:
        topic = names[i % len(names)]
        i += 1
        text = paragraph(rng, topic)
        if not (100 <= len(text) <= 700) or text in seen:
            continue
        seen.add(text)
        out.append({"text": text, "topic": topic})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="data/retain.jsonl")
    ap.add_argument("--count", type=int, default=400)
    args = ap.parse_args()
    rows = make(args.count)
    with open(args.out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{args.out}: {len(rows)} texts")


if __name__ == "__main__":
    main()
