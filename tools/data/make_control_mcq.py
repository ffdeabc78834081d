#!/usr/bin/env python3
"""Generate data/control-mcq.json: general-knowledge multiple-choice questions.

A control set for ELM erasure benchmarks: questions that have nothing to do with
the erased concept (Harry Potter), easy enough that a small model answers well
above chance, in the same format as the HP-MCQ set:
    [{"question": str, "choices": [4 x str], "answer": 0..3}, ...]

Every question is generated from small fact tables written here; distractors are
drawn from the same table so they are plausible. Deterministic (fixed seed), stdlib
only.  Run:  python3 tools/data/make_control_mcq.py [--out data/control-mcq.json]
"""
import argparse
import json
import random

SEED = 20240611

CAPITALS = [
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
    ("Japan", "Tokyo"), ("China", "Beijing"), ("Russia", "Moscow"), ("Egypt", "Cairo"),
    ("the United Kingdom", "London"), ("Greece", "Athens"), ("Portugal", "Lisbon"),
    ("Ireland", "Dublin"), ("Austria", "Vienna"), ("Norway", "Oslo"), ("Sweden", "Stockholm"),
    ("Finland", "Helsinki"), ("Denmark", "Copenhagen"), ("Poland", "Warsaw"),
    ("Hungary", "Budapest"), ("the Czech Republic", "Prague"), ("Belgium", "Brussels"),
    ("the Netherlands", "Amsterdam"), ("Canada", "Ottawa"), ("Mexico", "Mexico City"),
    ("Argentina", "Buenos Aires"), ("Peru", "Lima"), ("Chile", "Santiago"),
    ("South Korea", "Seoul"), ("Thailand", "Bangkok"), ("India", "New Delhi"),
    ("Kenya", "Nairobi"), ("Cuba", "Havana"), ("Turkey", "Ankara"), ("Iran", "Tehran"),
    ("Iraq", "Baghdad"), ("the United States", "Washington, D.C."), ("Australia", "Canberra"),
    ("Brazil", "Brasília"), ("Switzerland", "Bern"), ("Vietnam", "Hanoi"),
    ("the Philippines", "Manila"), ("Indonesia", "Jakarta"), ("Colombia", "Bogotá"),
    ("Venezuela", "Caracas"), ("Ukraine", "Kyiv"), ("Romania", "Bucharest"),
    ("Iceland", "Reykjavik"), ("New Zealand", "Wellington"), ("Saudi Arabia", "Riyadh"),
    ("Ethiopia", "Addis Ababa"), ("Morocco", "Rabat"), ("Nigeria", "Abuja"),
]

CONTINENTS = [
    ("France", "Europe"), ("Germany", "Europe"), ("Italy", "Europe"), ("Spain", "Europe"),
    ("Norway", "Europe"), ("Poland", "Europe"), ("Japan", "Asia"), ("China", "Asia"),
    ("India", "Asia"), ("Thailand", "Asia"), ("Vietnam", "Asia"), ("South Korea", "Asia"),
    ("Egypt", "Africa"), ("Kenya", "Africa"), ("Nigeria", "Africa"), ("Ethiopia", "Africa"),
    ("Morocco", "Africa"), ("Ghana", "Africa"), ("Brazil", "South America"),
    ("Argentina", "South America"), ("Peru", "South America"), ("Chile", "South America"),
    ("Colombia", "South America"), ("Canada", "North America"), ("Mexico", "North America"),
    ("the United States", "North America"),
]
CONTINENT_NAMES = ["Europe", "Asia", "Africa", "South America", "North America", "Australia"]

LANGUAGES = [
    ("France", "French"), ("Germany", "German"), ("Italy", "Italian"), ("Spain", "Spanish"),
    ("Japan", "Japanese"), ("China", "Chinese"), ("Russia", "Russian"), ("Portugal", "Portuguese"),
    ("Greece", "Greek"), ("Poland", "Polish"), ("Sweden", "Swedish"), ("Turkey", "Turkish"),
    ("Brazil", "Portuguese"), ("Mexico", "Spanish"), ("Korea", "Korean"), ("the Netherlands", "Dutch"),
]

COLOURS = [
    ("a ripe banana", "yellow"), ("grass", "green"), ("a clear daytime sky", "blue"),
    ("fresh snow", "white"), ("coal", "black"), ("a ripe tomato", "red"),
    ("an orange (the fruit)", "orange"), ("a lemon", "yellow"), ("a strawberry", "red"),
    ("milk", "white"), ("a fire truck", "red"), ("a lime", "green"), ("chocolate", "brown"),
    ("the sun in a child's drawing", "yellow"), ("a crow", "black"), ("a polar bear's fur", "white"),
    ("a carrot", "orange"), ("a pumpkin", "orange"), ("a frog", "green"), ("the sea on a sunny day", "blue"),
    ("a cherry", "red"), ("tree bark", "brown"), ("a lettuce leaf", "green"), ("an eggplant", "purple"),
    ("a flamingo", "pink"),
]
COLOUR_NAMES = ["red", "green", "blue", "yellow", "white", "black", "orange", "brown", "purple", "pink", "grey"]

COLOUR_MIX = [
    ("blue", "yellow", "green"), ("red", "white", "pink"), ("red", "yellow", "orange"),
    ("red", "blue", "purple"), ("black", "white", "grey"),
]

ANIMAL_SOUNDS = [
    ("cow", "moo"), ("dog", "bark"), ("cat", "meow"), ("duck", "quack"), ("sheep", "baa"),
    ("lion", "roar"), ("snake", "hiss"), ("horse", "neigh"), ("owl", "hoot"), ("pig", "oink"),
    ("frog", "croak"), ("bee", "buzz"),
]
ANIMAL_BABIES = [
    ("cat", "kitten"), ("dog", "puppy"), ("cow", "calf"), ("sheep", "lamb"), ("horse", "foal"),
    ("duck", "duckling"), ("frog", "tadpole"), ("goat", "kid"), ("bear", "cub"), ("chicken", "chick"),
    ("kangaroo", "joey"), ("pig", "piglet"), ("swan", "cygnet"), ("goose", "gosling"),
]
ANIMAL_FACTS = [
    ("Which animal is the largest mammal on Earth?", "The blue whale", ["The elephant", "The giraffe", "The hippopotamus"]),
    ("Which animal is known as the king of the jungle?", "The lion", ["The mouse", "The rabbit", "The sheep"]),
    ("Which animal has a very long neck and eats leaves from tall trees?", "The giraffe", ["The pig", "The penguin", "The mouse"]),
    ("Which bird cannot fly and lives in Antarctica?", "The penguin", ["The eagle", "The sparrow", "The parrot"]),
    ("What do bees make?", "Honey", ["Milk", "Silk", "Wool"]),
    ("What do cows give that people drink?", "Milk", ["Honey", "Juice", "Oil"]),
    ("Which animal has black and white stripes?", "The zebra", ["The lion", "The camel", "The elephant"]),
    ("Which animal is famous for carrying its house on its back?", "The snail", ["The dog", "The horse", "The rabbit"]),
    ("Which animal has a trunk?", "The elephant", ["The tiger", "The horse", "The rabbit"]),
    ("Which animal can change its colour to match its surroundings?", "The chameleon", ["The cow", "The horse", "The sheep"]),
    ("How many legs does a spider have?", "Eight", ["Six", "Four", "Ten"]),
    ("How many legs does an insect have?", "Six", ["Eight", "Four", "Two"]),
    ("How many legs does a dog have?", "Four", ["Two", "Six", "Eight"]),
    ("How many legs does a chicken have?", "Two", ["Four", "Six", "Eight"]),
    ("Which animal is known for hopping and carrying its baby in a pouch?", "The kangaroo", ["The cow", "The cat", "The goat"]),
    ("What do caterpillars turn into?", "Butterflies", ["Spiders", "Frogs", "Snakes"]),
    ("Where do fish live?", "In water", ["In trees", "In deserts", "In the clouds"]),
    ("Which animal is man's best friend, according to the saying?", "The dog", ["The snake", "The shark", "The spider"]),
    ("What is a group of wolves called?", "A pack", ["A flock", "A school", "A swarm"]),
    ("What does a camel store in its hump?", "Fat", ["Water", "Sand", "Milk"]),
    ("Which animal spins a web?", "The spider", ["The cow", "The fish", "The horse"]),
    ("Which of these animals is a bird?", "The eagle", ["The shark", "The frog", "The bat"]),
    ("Which of these animals is a fish?", "The salmon", ["The dolphin", "The frog", "The seal"]),
    ("Which of these animals is a reptile?", "The crocodile", ["The dolphin", "The eagle", "The cat"]),
    ("Which animal produces wool?", "The sheep", ["The pig", "The chicken", "The fish"]),
]

OPPOSITES = [
    ("hot", "cold"), ("big", "small"), ("up", "down"), ("fast", "slow"), ("happy", "sad"),
    ("day", "night"), ("light", "dark"), ("old", "young"), ("open", "closed"), ("full", "empty"),
    ("wet", "dry"), ("high", "low"), ("early", "late"), ("hard", "soft"), ("strong", "weak"),
    ("rich", "poor"), ("thick", "thin"), ("loud", "quiet"), ("clean", "dirty"), ("win", "lose"),
    ("push", "pull"), ("buy", "sell"), ("left", "right"), ("begin", "end"), ("give", "take"),
    ("inside", "outside"), ("heavy", "light"), ("true", "false"), ("easy", "difficult"),
    ("north", "south"), ("east", "west"), ("long", "short"), ("above", "below"), ("sweet", "sour"),
    ("first", "last"), ("friend", "enemy"), ("laugh", "cry"), ("arrive", "leave"),
    ("question", "answer"), ("summer", "winter"), ("remember", "forget"), ("safe", "dangerous"),
    ("asleep", "awake"), ("always", "never"), ("near", "far"),
]

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
SEASON_OF_MONTH_NH = {"January": "winter", "April": "spring", "July": "summer", "October": "autumn",
                      "December": "winter", "May": "spring", "August": "summer", "November": "autumn"}

UNITS = [
    ("How many centimetres are in one metre?", "100", ["10", "1000", "60"]),
    ("How many metres are in one kilometre?", "1000", ["100", "10", "60"]),
    ("How many grams are in one kilogram?", "1000", ["100", "10", "500"]),
    ("How many millilitres are in one litre?", "1000", ["100", "10", "500"]),
    ("How many minutes are in one hour?", "60", ["100", "24", "30"]),
    ("How many seconds are in one minute?", "60", ["100", "24", "10"]),
    ("How many hours are in one day?", "24", ["12", "60", "7"]),
    ("How many days are in one week?", "7", ["5", "10", "12"]),
    ("How many months are in one year?", "12", ["10", "7", "24"]),
    ("How many days are in a normal year (not a leap year)?", "365", ["360", "100", "400"]),
    ("How many years are in a century?", "100", ["10", "1000", "50"]),
    ("How many years are in a decade?", "10", ["100", "12", "5"]),
    ("How many sides does a triangle have?", "3", ["4", "5", "6"]),
    ("How many sides does a square have?", "4", ["3", "5", "6"]),
    ("How many sides does a hexagon have?", "6", ["5", "8", "4"]),
    ("How many sides does an octagon have?", "8", ["6", "10", "5"]),
    ("How many things are in a dozen?", "12", ["10", "6", "20"]),
    ("How many cents are in one dollar?", "100", ["10", "1000", "50"]),
    ("How many millimetres are in one centimetre?", "10", ["100", "1000", "5"]),
    ("How many weeks are in one year?", "52", ["12", "48", "100"]),
    ("How many degrees are in a right angle?", "90", ["180", "45", "360"]),
    ("How many degrees are in a full circle?", "360", ["180", "90", "100"]),
    ("What unit is used to measure temperature?", "Degrees", ["Kilograms", "Metres", "Litres"]),
    ("What unit is used to measure the mass of a bag of flour?", "Kilograms", ["Metres", "Seconds", "Degrees"]),
    ("What unit is used to measure the length of a road?", "Kilometres", ["Kilograms", "Litres", "Seconds"]),
    ("What is used to measure time?", "A clock", ["A ruler", "A thermometer", "A scale"]),
    ("What is used to measure temperature?", "A thermometer", ["A ruler", "A clock", "A compass"]),
    ("What is used to measure length?", "A ruler", ["A thermometer", "A clock", "A scale"]),
]

SCIENCE = [
    ("At what temperature does water boil at sea level?", "100 degrees Celsius", ["0 degrees Celsius", "50 degrees Celsius", "200 degrees Celsius"]),
    ("At what temperature does water freeze?", "0 degrees Celsius", ["100 degrees Celsius", "50 degrees Celsius", "-100 degrees Celsius"]),
    ("Which planet is closest to the Sun?", "Mercury", ["Mars", "Jupiter", "Neptune"]),
    ("Which planet do we live on?", "Earth", ["Mars", "Venus", "Jupiter"]),
    ("Which planet is known as the Red Planet?", "Mars", ["Venus", "Saturn", "Earth"]),
    ("What is the largest planet in our solar system?", "Jupiter", ["Mercury", "Mars", "Earth"]),
    ("Which planet is famous for its rings?", "Saturn", ["Mercury", "Mars", "Earth"]),
    ("What is the star at the centre of our solar system?", "The Sun", ["The Moon", "Mars", "The North Star"]),
    ("What do plants need from the Sun to make food?", "Light", ["Sand", "Noise", "Plastic"]),
    ("What gas do humans need to breathe to stay alive?", "Oxygen", ["Helium", "Carbon monoxide", "Neon"]),
    ("What gas do plants take in from the air?", "Carbon dioxide", ["Helium", "Neon", "Argon"]),
    ("What is H2O more commonly called?", "Water", ["Salt", "Sugar", "Air"]),
    ("What is the chemical symbol for gold?", "Au", ["Ag", "Go", "Gd"]),
    ("What is the chemical symbol for oxygen?", "O", ["Ox", "G", "H"]),
    ("What force pulls objects towards the Earth?", "Gravity", ["Magnetism", "Friction", "Electricity"]),
    ("Which organ pumps blood around the body?", "The heart", ["The lungs", "The liver", "The stomach"]),
    ("Which organ do humans use to breathe?", "The lungs", ["The heart", "The kidneys", "The stomach"]),
    ("Which organ do we use to think?", "The brain", ["The heart", "The stomach", "The liver"]),
    ("Which sense do we use our eyes for?", "Sight", ["Hearing", "Smell", "Taste"]),
    ("Which sense do we use our ears for?", "Hearing", ["Sight", "Smell", "Taste"]),
    ("Which sense do we use our nose for?", "Smell", ["Sight", "Hearing", "Touch"]),
    ("How many bones are in the adult human body, roughly?", "206", ["50", "1000", "12"]),
    ("What is the hardest natural substance?", "Diamond", ["Gold", "Iron", "Wood"]),
    ("What is ice made of?", "Frozen water", ["Frozen milk", "Melted glass", "Salt"]),
    ("What is the natural satellite of the Earth?", "The Moon", ["The Sun", "Mars", "Venus"]),
    ("What does a compass needle point to?", "North", ["South", "East", "West"]),
    ("Which of these is a liquid at room temperature?", "Water", ["Iron", "Stone", "Wood"]),
    ("Which of these is a gas at room temperature?", "Air", ["Ice", "Salt", "Stone"]),
    ("What do we call animals that eat only plants?", "Herbivores", ["Carnivores", "Predators", "Insects"]),
    ("What do we call animals that eat only meat?", "Carnivores", ["Herbivores", "Vegetarians", "Plants"]),
    ("What causes day and night on Earth?", "The Earth spinning on its axis", ["The Moon moving", "Clouds", "The wind"]),
    ("What is the boiling point of water in Fahrenheit at sea level?", "212 degrees", ["100 degrees", "32 degrees", "0 degrees"]),
    ("What is the closest star to the Earth?", "The Sun", ["Sirius", "The Moon", "Polaris"]),
    ("Which metal is attracted to a magnet?", "Iron", ["Gold", "Copper", "Aluminium"]),
    ("What colour does litmus paper turn in an acid?", "Red", ["Blue", "Green", "Yellow"]),
    ("What is the main gas in the air we breathe?", "Nitrogen", ["Oxygen", "Hydrogen", "Helium"]),
]

EVERYDAY = [
    ("What do people usually use to cut paper?", "Scissors", ["A spoon", "A pillow", "A cup"]),
    ("What do you use to write on a blackboard?", "Chalk", ["Soap", "A spoon", "A sock"]),
    ("Where do people usually sleep?", "In a bed", ["In a sink", "In an oven", "In a bathtub of sand"]),
    ("What do you wear on your feet?", "Shoes", ["Hats", "Gloves", "Scarves"]),
    ("What do you wear on your hands to keep them warm?", "Gloves", ["Socks", "Hats", "Belts"]),
    ("What do people use to open a locked door?", "A key", ["A fork", "A plate", "A pencil"]),
    ("What do you use an umbrella for?", "To stay dry in the rain", ["To cook food", "To cut bread", "To write letters"]),
    ("Which meal is eaten in the morning?", "Breakfast", ["Dinner", "Supper", "Midnight snack"]),
    ("What do bakers make?", "Bread", ["Shoes", "Cars", "Houses"]),
    ("Who treats sick people in a hospital?", "A doctor", ["A pilot", "A farmer", "A painter"]),
    ("Who flies an aeroplane?", "A pilot", ["A chef", "A dentist", "A farmer"]),
    ("Who looks after people's teeth?", "A dentist", ["A pilot", "A baker", "A plumber"]),
    ("What do you use to take a photograph?", "A camera", ["A kettle", "A hammer", "A broom"]),
    ("What do you need to boil water in a kitchen?", "A kettle", ["A pillow", "A ruler", "A shoe"]),
    ("Where do you keep food cold?", "In a refrigerator", ["In an oven", "In a toaster", "In a wardrobe"]),
    ("What is used to sweep the floor?", "A broom", ["A fork", "A towel", "A lamp"]),
    ("What do you use to dry yourself after a shower?", "A towel", ["A spoon", "A brick", "A book"]),
    ("What is a baby dog called?", "A puppy", ["A kitten", "A calf", "A lamb"]),
    ("Which vehicle travels on rails?", "A train", ["A boat", "A bicycle", "A helicopter"]),
    ("Which vehicle flies in the sky?", "An aeroplane", ["A car", "A train", "A bicycle"]),
    ("Which vehicle sails on water?", "A boat", ["A bus", "A train", "A bicycle"]),
    ("What do you call the frozen form of rain that falls as white flakes?", "Snow", ["Fog", "Sand", "Smoke"]),
    ("Which season comes after winter?", "Spring", ["Autumn", "Summer", "Winter"]),
    ("Which season comes after summer?", "Autumn", ["Spring", "Winter", "Summer"]),
    ("Which season is usually the hottest?", "Summer", ["Winter", "Autumn", "Spring"]),
    ("Which season is usually the coldest?", "Winter", ["Summer", "Spring", "Autumn"]),
    ("What shape is a ball?", "Round", ["Square", "Triangular", "Flat"]),
    ("What shape has three sides?", "A triangle", ["A square", "A circle", "A rectangle"]),
    ("What shape has no corners?", "A circle", ["A square", "A triangle", "A rectangle"]),
    ("What falls from clouds when it rains?", "Water", ["Sand", "Milk", "Leaves"]),
]

FOOD = [
    ("Which fruit is yellow and curved?", "Banana", ["Apple", "Grape", "Cherry"]),
    ("What is the main ingredient of guacamole?", "Avocado", ["Tomato", "Potato", "Banana"]),
    ("What is bread mostly made from?", "Flour", ["Sugar", "Rice", "Salt"]),
    ("What is cheese made from?", "Milk", ["Eggs", "Flour", "Apples"]),
    ("Which food comes from chickens?", "Eggs", ["Milk", "Honey", "Wool"]),
    ("What is the main ingredient of french fries?", "Potatoes", ["Carrots", "Apples", "Onions"]),
    ("Which country is famous for pizza and pasta?", "Italy", ["Norway", "Japan", "Egypt"]),
    ("Which country is famous for sushi?", "Japan", ["Italy", "Mexico", "Germany"]),
    ("What is tea made from?", "Leaves", ["Rocks", "Feathers", "Sand"]),
    ("What do you call dried grapes?", "Raisins", ["Prunes", "Dates", "Figs"]),
    ("Which vegetable is orange and long, and rabbits like it?", "Carrot", ["Cucumber", "Potato", "Onion"]),
    ("What is popcorn made from?", "Corn", ["Rice", "Wheat", "Beans"]),
    ("Which drink is made from coffee beans?", "Coffee", ["Tea", "Lemonade", "Milk"]),
    ("Which of these is a vegetable?", "Broccoli", ["Apple", "Banana", "Cherry"]),
    ("Which of these is a fruit?", "Apple", ["Carrot", "Potato", "Onion"]),
]

GEO = [
    ("What is the largest ocean on Earth?", "The Pacific Ocean", ["The Atlantic Ocean", "The Indian Ocean", "The Arctic Ocean"]),
    ("What is the longest river in Africa?", "The Nile", ["The Thames", "The Seine", "The Danube"]),
    ("What is the tallest mountain in the world?", "Mount Everest", ["Mont Blanc", "Mount Fuji", "Ben Nevis"]),
    ("What is the largest desert in Africa?", "The Sahara", ["The Gobi", "The Atacama", "The Kalahari"]),
    ("Which country has the largest population in South America?", "Brazil", ["Chile", "Uruguay", "Paraguay"]),
    ("Which is the largest country by area?", "Russia", ["France", "Japan", "Italy"]),
    ("Which city is famous for the Eiffel Tower?", "Paris", ["Rome", "Berlin", "Madrid"]),
    ("Which city is famous for the Colosseum?", "Rome", ["Paris", "London", "Vienna"]),
    ("Which city is famous for Big Ben?", "London", ["Paris", "Rome", "Madrid"]),
    ("In which country are the pyramids of Giza?", "Egypt", ["Mexico", "Sweden", "Canada"]),
    ("Which country is shaped like a boot?", "Italy", ["Spain", "France", "Norway"]),
    ("Which country is known as the Land of the Rising Sun?", "Japan", ["China", "Brazil", "Italy"]),
    ("Which continent is the coldest?", "Antarctica", ["Africa", "Australia", "South America"]),
    ("Which is the largest continent?", "Asia", ["Europe", "Australia", "Antarctica"]),
    ("Which river flows through London?", "The Thames", ["The Nile", "The Seine", "The Amazon"]),
    ("Which river flows through Paris?", "The Seine", ["The Thames", "The Nile", "The Amazon"]),
    ("Which large rainforest is in South America?", "The Amazon", ["The Sahara", "The Alps", "The Gobi"]),
    ("Which country is home to the kangaroo?", "Australia", ["Canada", "Norway", "Egypt"]),
    ("In which city is the Statue of Liberty?", "New York", ["Paris", "London", "Sydney"]),
    ("Which city is famous for its Opera House by the harbour, in Australia?", "Sydney", ["Cairo", "Oslo", "Lima"]),
]

HISTORY_TECH = [
    ("Who invented the telephone?", "Alexander Graham Bell", ["Albert Einstein", "Isaac Newton", "Charles Darwin"]),
    ("Who is known for the theory of relativity?", "Albert Einstein", ["Isaac Newton", "Thomas Edison", "Charles Dickens"]),
    ("Who wrote the play Romeo and Juliet?", "William Shakespeare", ["Charles Darwin", "Isaac Newton", "Albert Einstein"]),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci", ["Pablo Picasso", "Vincent van Gogh", "Claude Monet"]),
    ("Who was the first person to walk on the Moon?", "Neil Armstrong", ["Yuri Gagarin", "Christopher Columbus", "Charles Darwin"]),
    ("Who developed the theory of evolution by natural selection?", "Charles Darwin", ["Isaac Newton", "Albert Einstein", "Galileo Galilei"]),
    ("Who is famous for the law of gravity and an apple?", "Isaac Newton", ["Charles Darwin", "Leonardo da Vinci", "William Shakespeare"]),
    ("Who was the first President of the United States?", "George Washington", ["Abraham Lincoln", "Thomas Jefferson", "John Adams"]),
    ("Which device is used to browse the internet?", "A computer", ["A toaster", "A bicycle", "A kettle"]),
    ("What did the Wright brothers build and fly in 1903?", "An aeroplane", ["A submarine", "A rocket", "A train"]),
    ("What does a light bulb produce?", "Light", ["Water", "Sound", "Food"]),
    ("What does a printer do?", "It puts text and pictures on paper", ["It cooks food", "It washes clothes", "It cuts hair"]),
    ("Which of these is used to send an email?", "A computer", ["A hammer", "A spoon", "A pillow"]),
    ("What powers a solar panel?", "Sunlight", ["Rain", "Snow", "Sand"]),
    ("What did Johannes Gutenberg invent around 1440?", "The printing press", ["The telephone", "The aeroplane", "The radio"]),
]

NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve"]


def pick_distractors(rng, correct, pool, n=3):
    cands = sorted({p for p in pool if p != correct})
    rng.shuffle(cands)
    return cands[:n]


def numeric_distractors(rng, correct, spread):
    out = set()
    offsets = [d for d in range(-spread, spread + 1) if d != 0]
    rng.shuffle(offsets)
    for d in offsets:
        v = correct + d
        if v >= 0 and v != correct:
            out.add(v)
        if len(out) == 3:
            break
    return [str(v) for v in sorted(out)]


class Builder:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.items = []
        self.seen = set()

    def add(self, question, correct, distractors, category):
        if question in self.seen:
            return
        assert len(distractors) == 3 and correct not in distractors, (question, correct, distractors)
        self.seen.add(question)
        self.items.append({"question": question, "correct": correct,
                           "distractors": list(distractors), "category": category})

    def finish(self):
        # Answer positions: a balanced cycle, shuffled, so no letter dominates.
        n = len(self.items)
        positions = [i % 4 for i in range(n)]
        self.rng.shuffle(positions)
        out = []
        for item, pos in zip(self.items, positions):
            d = list(item["distractors"])
            self.rng.shuffle(d)
            choices = d[:pos] + [item["correct"]] + d[pos:]
            out.append({"question": item["question"], "choices": choices, "answer": pos,
                        "category": item["category"]})
        # Mixed order, so that any prefix (eval --limit N) samples every category.
        self.rng.shuffle(out)
        return out


def build():
    b = Builder(SEED)
    rng = b.rng
    cities = [c for _, c in CAPITALS]
    for country, city in CAPITALS:
        b.add(f"What is the capital of {country}?", city, pick_distractors(rng, city, cities), "capitals")
    for country, cont in CONTINENTS:
        b.add(f"On which continent is {country}?", cont, pick_distractors(rng, cont, CONTINENT_NAMES), "continents")
    langs = sorted({l for _, l in LANGUAGES})
    for country, lang in LANGUAGES:
        b.add(f"What language is mainly spoken in {country}?", lang, pick_distractors(rng, lang, langs), "languages")
    for thing, col in COLOURS:
        b.add(f"What colour is {thing}?", col, pick_distractors(rng, col, COLOUR_NAMES), "colours")
    for a, c, res in COLOUR_MIX:
        b.add(f"What colour do you get when you mix {a} and {c} paint?", res,
              pick_distractors(rng, res, [x for x in COLOUR_NAMES if x not in (a, c)]), "colours")
    sounds = [s for _, s in ANIMAL_SOUNDS]
    for animal, s in ANIMAL_SOUNDS:
        b.add(f"What sound does a {animal} make?", s, pick_distractors(rng, s, sounds), "animals")
    babies = [x for _, x in ANIMAL_BABIES]
    for animal, baby in ANIMAL_BABIES:
        b.add(f"What is a baby {animal} called?", baby, pick_distractors(rng, baby, babies), "animals")
    for q, a, d in ANIMAL_FACTS:
        b.add(q, a, d, "animals")
    words = [w for pair in OPPOSITES for w in pair]
    for w, o in OPPOSITES:
        b.add(f"What is the opposite of \"{w}\"?", o,
              pick_distractors(rng, o, [x for x in words if x != w]), "opposites")
    for i, d in enumerate(DAYS):
        nxt, prv = DAYS[(i + 1) % 7], DAYS[(i - 1) % 7]
        b.add(f"Which day comes after {d}?", nxt, pick_distractors(rng, nxt, [x for x in DAYS if x not in (d, prv)]), "calendar")
        b.add(f"Which day comes before {d}?", prv, pick_distractors(rng, prv, [x for x in DAYS if x not in (d, nxt)]), "calendar")
    for i, m in enumerate(MONTHS):
        nxt, prv = MONTHS[(i + 1) % 12], MONTHS[(i - 1) % 12]
        b.add(f"Which month comes after {m}?", nxt, pick_distractors(rng, nxt, [x for x in MONTHS if x not in (m, prv)]), "calendar")
        b.add(f"Which month comes before {m}?", prv, pick_distractors(rng, prv, [x for x in MONTHS if x not in (m, nxt)]), "calendar")
        b.add(f"Which month of the year is {m}: what is its number?", str(i + 1),
              numeric_distractors(rng, i + 1, 3) if i > 0 else ["2", "3", "12"], "calendar")
    b.add("Which is the first month of the year?", "January", ["March", "June", "December"], "calendar")
    b.add("Which is the last month of the year?", "December", ["January", "June", "August"], "calendar")
    b.add("Which day is the first day of the weekend?", "Saturday", ["Monday", "Tuesday", "Wednesday"], "calendar")
    for m, s in SEASON_OF_MONTH_NH.items():
        b.add(f"In the northern hemisphere, which season is it in {m}?", s,
              pick_distractors(rng, s, ["winter", "spring", "summer", "autumn"]), "calendar")
    for q, a, d in UNITS:
        b.add(q, a, d, "units")
    for q, a, d in SCIENCE:
        b.add(q, a, d, "science")
    for q, a, d in EVERYDAY:
        b.add(q, a, d, "everyday")
    for q, a, d in FOOD:
        b.add(q, a, d, "food")
    for q, a, d in GEO:
        b.add(q, a, d, "geography")
    for q, a, d in HISTORY_TECH:
        b.add(q, a, d, "history")
    # Arithmetic: small numbers, distractors close to the answer.
    arith = 0
    while arith < 60:
        kind = arith % 4
        if kind == 0:
            x, y = rng.randint(1, 20), rng.randint(1, 20)
            q, a = f"What is {x} plus {y}?", x + y
        elif kind == 1:
            x = rng.randint(5, 30); y = rng.randint(1, x)
            q, a = f"What is {x} minus {y}?", x - y
        elif kind == 2:
            x, y = rng.randint(2, 10), rng.randint(2, 10)
            q, a = f"What is {x} times {y}?", x * y
        else:
            y = rng.randint(2, 10); a = rng.randint(2, 10)
            q = f"What is {y * a} divided by {y}?"
        before = len(b.items)
        b.add(q, str(a), numeric_distractors(rng, a, 4), "arithmetic")
        if len(b.items) > before:
            arith += 1
    for n in range(1, 11):
        b.add(f"Which number is written as \"{NUMBER_WORDS[n]}\"?", str(n),
              numeric_distractors(rng, n, 3), "numbers")
    for _ in range(15):
        xs = rng.sample(range(1, 100), 4)
        big = max(xs)
        b.add(f"Which of these numbers is the largest: {', '.join(map(str, xs))}?", str(big),
              [str(x) for x in xs if x != big], "numbers")
    return b.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="data/control-mcq.json")
    args = ap.parse_args()
    items = build()
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(items, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{args.out}: {len(items)} questions")


if __name__ == "__main__":
    main()
