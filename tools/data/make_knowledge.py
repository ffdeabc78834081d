#!/usr/bin/env python3
"""Generate data/knowledge/<concept>/: a knowledge benchmark on concepts SmolLM2 knows.

For each concept (world geography; famous people of history) this writes, from the fact
tables in knowledge_facts.py:
  mcq.dev.json, mcq.test.json   multiple-choice questions, control-mcq.json's format
                                {question, choices[4], answer, category}; distractors of the
                                answer's own type; answer positions balanced in each split
  forget.jsonl                  {"text"}: encyclopedic paragraphs (300-600 characters) stating
                                the concept's facts, EXCEPT every fact a test question asks:
                                those are left out, so an erasure must generalise from the
                                dev and corpus-only facts to the test facts
  retain.jsonl                  {"text", "topic"}: data/retain.jsonl rows on other topics
  control.dev.json, control.test.json
                                data/control-mcq.json questions whose category is not part of
                                the concept (and which name none of its entities)
  prompts.jsonl                 {"text"}: chat prompts about the concept (generations,
                                reverse perplexity)
  forget-quiz.jsonl             {"text"}: quiz blocks ("Question: ...\nAnswer: ..." x 6) on the
                                corpus-only facts: the forget set in the form the MCQ asks in,
                                with no dev or test fact in it
  retain-quiz.jsonl             {"text"}: quiz blocks on the other concept's facts (none that
                                names this concept's entities or answers a control question):
                                the retain set in the same form
  forget-prompts.txt            prompts asking the model to write about the concept's
                                subjects (tools/data/model_texts.sh -> forget-model.jsonl)
  concept.txt                   the concept name used as ELM's erase.concept
  facts.json                    every fact with its split ("test", "dev", "corpus"), its
                                subject and answer keys: what check_knowledge.py checks with
Also data/knowledge/pilot-body.json (the human-body pilot set measured when choosing the
second concept).

Splits are made per fact (a fact and all questions that ask it land in one split),
proportionally within each category, after a seeded shuffle. Deterministic, stdlib only.
Run:  python3 tools/data/make_knowledge.py [--out-dir data/knowledge]
"""
import argparse
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import knowledge_facts as KF  # noqa: E402

SEED = 20261202
TEST_SHARE = {"geography": 200, "people": 150}   # test questions per concept (at least)
DEV_SHARE = {"geography": 80, "people": 60}      # dev questions per concept (at least)

CONCEPTS = {
    "geography": "world geography: countries, capitals, cities, languages, rivers, mountains and landmarks",
    "people": "famous people of history: writers, artists, composers, thinkers, inventors, scientists, explorers and leaders",
}
# Control categories of data/control-mcq.json that belong to each concept.
CONCEPT_CONTROL_CATEGORIES = {
    "geography": {"capitals", "continents", "languages", "geography"},
    "people": {"history"},
}
# Topics of data/retain.jsonl that overlap each concept.
CONCEPT_RETAIN_TOPICS = {
    "geography": {"geography", "travel"},
    "people": {"technology_history", "music"},
}

STOP = set("""a an the of in on at to for from by with and or is are was were be been which who what
whose where when how did does do that this these those it its his her their first person famous known
called often most many much more some any one two three four also as into around about after before
than then there here built made make mainly mostly main largest large long longest highest high
small smallest lies lie between near century said credited greatly used using wrote became who's""".split())


def cap(s):
    return s[0].upper() + s[1:]


def strip_the(s):
    return re.sub(r"^(the|The) ", "", s)


def article(word):
    return "an" if word[0].lower() in "aeiou" else "a"


def name_keys(answer):
    """Strings whose presence in a text counts as naming this answer (word-bounded)."""
    a = strip_the(answer)
    keys = {a}
    special = {"Martin Luther King Jr.": ["Martin Luther King"], "Elizabeth I": ["Elizabeth I", "Queen Elizabeth"],
               "Queen Victoria": ["Queen Victoria"], "Watson and Crick": ["Watson", "Crick"],
               "Edmund Hillary and Tenzing Norgay": ["Hillary", "Tenzing"], "Martin Luther": ["Martin Luther"],
               "Johann Strauss II": ["Strauss"], "Alexander the Great": ["Alexander the Great"],
               "Leonardo da Vinci": ["Leonardo", "da Vinci"], "Vasco da Gama": ["da Gama"],
               "Joan of Arc": ["Joan of Arc"], "Genghis Khan": ["Genghis"], "Qin Shi Huang": ["Qin Shi Huang"],
               "Miguel de Cervantes": ["Cervantes"], "Antoine de Saint-Exupéry": ["Saint-Exupéry"],
               "Johann Wolfgang von Goethe": ["Goethe"], "Ludwig van Beethoven": ["Beethoven"],
               "Vincent van Gogh": ["van Gogh"], "Dante Alighieri": ["Dante"], "Mahatma Gandhi": ["Gandhi"]}
    if answer in special:
        return sorted(set(special[answer]) | keys)
    words = a.split()
    if len(words) >= 2 and words[0][0].isupper() and all(w[0].isupper() or w in ("de", "da", "van", "von") for w in words):
        if len(words[-1]) >= 4 and words[-1] not in ("Ocean", "Canal", "Desert", "Strait", "Falls", "Mountains", "Sea"):
            keys.add(words[-1])
    return sorted(keys)


def content_keys(phrase):
    words = re.findall(r"[A-Za-zÀ-ÿ'-]+", phrase)
    return sorted({w for w in words if len(w) >= 4 and w.lower() not in STOP})


class Fact:
    def __init__(self, concept, category, subject, answer, questions, statements, subject_keys=None):
        self.concept, self.category, self.subject, self.answer = concept, category, subject, answer
        # [(question, [3 distractors])] asking for `answer`, or (question, answer, [3 distractors])
        # for a question on the same fact whose answer is the subject (a reverse question)
        self.questions = [q if len(q) == 3 else (q[0], answer, q[1]) for q in questions]
        self.statements = statements        # [sentence, ...] (one or two wordings)
        self.subject_keys = subject_keys or [strip_the(subject)]
        self.answer_keys = name_keys(answer)
        self.split = None


def pick(rng, answer, pool, avoid=()):
    cands = sorted({p for p in pool if p != answer and strip_the(p) != strip_the(answer) and p not in avoid})
    rng.shuffle(cands)
    return cands[:3]


def geography_facts(rng):
    F = []
    caps = [c for _, c in KF.CAPITALS + KF.CAPITALS_REVERSE]
    for country, city in KF.CAPITALS:
        F.append(Fact("geography", "capitals", country, city,
                      [(f"Which city is the capital of {country}?", pick(rng, city, caps))],
                      [f"The capital of {country} is {city}.", f"{city} is the capital city of {country}."]))
    rev_countries = [c for c, _ in KF.CAPITALS_REVERSE]
    for country, city in KF.CAPITALS_REVERSE:
        F.append(Fact("geography", "capitals", city, cap(country),
                      [(f"{city} is the capital of which country?", [cap(x) for x in pick(rng, country, rev_countries)])],
                      [f"{city} is the capital of {country}.", f"The capital city of {country} is {city}."]))
        F[-1].answer_keys = name_keys(country)
    langs = sorted({l for _, l in KF.LANGUAGES} | set(KF.LANGUAGE_EXTRA))
    for country, lang in KF.LANGUAGES:
        F.append(Fact("geography", "languages", country, lang,
                      [(f"What is the main language of {country}?", pick(rng, lang, langs))],
                      [f"Most people in {country} speak {lang}.", f"{lang} is the main language of {country}."]))
    ccountries = sorted({c for _, c in KF.CITIES} | set(KF.CITY_COUNTRY_EXTRA))
    for city, country in KF.CITIES:
        avoid = {"England", "Scotland"} if country in ("England", "Scotland") else set()
        d = pick(rng, country, ccountries, avoid=avoid)
        f = Fact("geography", "cities", city, cap(country),
                 [(f"In which country is the city of {city}?", [cap(x) for x in d])],
                 [f"{city} is a city in {country}.", f"The city of {city} lies in {country}."])
        f.answer_keys = name_keys(country)
        F.append(f)
    lcountries = sorted({c for _, c in KF.LANDMARKS} | set(KF.LANDMARK_EXTRA))
    for lm, country in KF.LANDMARKS:
        avoid = {"England", "Northern Ireland"} if country in ("England", "Northern Ireland") else set()
        f = Fact("geography", "landmarks", lm, cap(country),
                 [(f"In which country is {lm}?", [cap(x) for x in pick(rng, country, lcountries, avoid=avoid)])],
                 [f"{cap(lm)} is in {country}.", f"Visitors to {country} can see {lm}."])
        f.answer_keys = name_keys(country)
        F.append(f)
    rivers = sorted({r for _, r in KF.CITY_RIVERS} | set(KF.RIVER_EXTRA))
    for city, river in KF.CITY_RIVERS:
        F.append(Fact("geography", "rivers", city, cap(river),
                      [(f"Which river flows through {city}?", [cap(x) for x in pick(rng, river, rivers)])],
                      [f"{cap(river)} flows through {city}.", f"The city of {city} lies on {river}."]))
    rcountries = sorted({c for _, c in KF.RIVER_COUNTRIES} | {"Germany", "Egypt", "Canada", "Japan"})
    for river, country in KF.RIVER_COUNTRIES:
        f = Fact("geography", "rivers", river, cap(country),
                 [(f"In which country does most of {river} flow?", [cap(x) for x in pick(rng, country, rcountries)])],
                 [f"Most of {river} flows through {country}.", f"{cap(river)} is one of the great rivers of {country}."])
        f.answer_keys = name_keys(country)
        F.append(f)
    for cat, q, a, d, st, subj in KF.GEO_QA:
        F.append(Fact("geography", cat, subj, a, [(q, list(d))], list(st), subject_keys=[subj]))
    # Corpus-only facts (no question asks them).
    corpus = []
    for country, cont in KF.CONTINENT_OF:
        corpus.append(Fact("geography", "continents", country, cont, [],
                           [f"{cap(country)} is a country in {cont}.", f"{cap(country)} lies in {cont}."]))
    for country, cur in KF.CURRENCIES:
        corpus.append(Fact("geography", "currencies", country, cur, [],
                           [f"The currency of {country} is {cur}.", f"In {country} people pay with {cur}."]))
    return F, corpus


PEOPLE_NOUN = {"thinkers": "thinker", "writers": "writer", "artists": "artist", "composers": "composer", "inventors": "inventor",
               "scientists": "scientist", "explorers": "explorer", "leaders": "historical figure"}


def people_facts(rng):
    F = []
    by_cat = {}
    for cat, kind, work, person in KF.WORKS:
        by_cat.setdefault(cat, []).append((kind, work, person))
    verb = {"writers": ("wrote", "written"), "artists": ("created", "created"), "composers": ("composed", "composed")}
    for cat, items in by_cat.items():
        people = sorted({p for _, _, p in items})
        for kind, work, person in items:
            v, pp = verb[cat]
            title = f"{kind} {work}"
            # Only the forward question: the reverse one ("Which of these works is by X?")
            # scored 52% against 61% for the forward ones (first measurement, 69 questions).
            qs = [(f"Who {v} {title}?", pick(rng, person, people))]
            F.append(Fact("people", cat, work, person, qs,
                          [f"{person} {v} {title}.", f"{cap(title)} was {pp} by {person}."], subject_keys=[work]))
    ach_people = {}
    for cat, q, a, st in KF.ACHIEVEMENTS:
        ach_people.setdefault(cat, set()).add(a)
    for cat, q, a, st in KF.ACHIEVEMENTS:
        F.append(Fact("people", cat, q, a, [(q, pick(rng, a, sorted(ach_people[cat])))], [st],
                      subject_keys=content_keys(q)))
    corpus = []
    seen = set()
    cats = {p: c for c, _, _, p in KF.WORKS}
    cats.update({a: c for c, _, a, _ in KF.ACHIEVEMENTS})
    for person, (nat, century) in KF.PEOPLE_INFO.items():
        if person in seen:
            continue
        seen.add(person)
        noun = PEOPLE_NOUN[cats[person]]
        pl = " and " in person
        if pl:
            st = [f"{person} were {nat} {noun}s of the {century}.", f"The {nat} {noun}s {person} worked in the {century}."]
        else:
            st = [f"{person} was {article(nat)} {nat} {noun} of the {century}.", f"The {nat} {noun} {person} lived in the {century}."]
        corpus.append(Fact("people", "lives", person, nat, [], st))
    return F, corpus


def norm_q(q):
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", q.lower()).split())


def mentions(text, keys):
    for k in keys:
        if re.search(r"(?<![\w])" + re.escape(k) + r"(?![\w])", text, flags=re.I):
            return True
    return False


def states_fact(text, fact):
    """True when a text names both a fact's subject and its answer: the check that keeps
    test facts out of the forget texts (check_knowledge.py and model_texts.sh use it too).
    `fact` is a Fact or a facts.json row."""
    if isinstance(fact, dict):
        return mentions(text, fact["subject_keys"]) and mentions(text, fact["answer_keys"])
    return mentions(text, fact.subject_keys) and mentions(text, fact.answer_keys)


def split_facts(rng, facts, n_test, n_dev):
    nq = sum(len(f.questions) for f in facts)
    pt, pd = n_test / nq, n_dev / nq
    cats = sorted({f.category for f in facts})
    for c in cats:
        fs = [f for f in facts if f.category == c]
        rng.shuffle(fs)
        cq = sum(len(f.questions) for f in fs)
        t = d = 0
        for f in fs:
            if t < pt * cq:
                f.split, t = "test", t + len(f.questions)
            elif d < pd * cq:
                f.split, d = "dev", d + len(f.questions)
            else:
                f.split = "corpus"
    # Top up to the targets from the corpus-only facts, category by category in turn.
    for split, target in (("test", n_test), ("dev", n_dev)):
        have = sum(len(f.questions) for f in facts if f.split == split)
        spare = [f for f in facts if f.split == "corpus"]
        while have < target and spare:
            f = spare.pop(0)
            f.split, have = split, have + len(f.questions)


def mcq(rng, facts, split):
    items = []
    for f in facts:
        if f.split != split:
            continue
        for q, a, d in f.questions:
            assert len(d) == 3 and a not in d and not mentions(q, [a]), (q, a, d)
            items.append((q, a, d, f.category))
    positions = [i % 4 for i in range(len(items))]
    rng.shuffle(positions)
    out = []
    for (q, a, d, c), pos in zip(items, positions):
        d = list(d)
        rng.shuffle(d)
        out.append({"question": q, "choices": d[:pos] + [a] + d[pos:], "answer": pos, "category": c})
    rng.shuffle(out)
    return out


CONNECT = ["", "", "", "Also, ", "In addition, ", "Geographers note that ", "It is well known that "]
CONNECT_PEOPLE = ["", "", "", "Also, ", "In addition, ", "Historians note that ", "It is well known that "]


def lower_first(s):
    first = s.split(" ", 1)[0]
    if first in ("The", "A", "An", "Most", "Visitors", "In", "Along", "Between", "Around", "Ships", "South",
                 "Much", "Canals", "Hollywood", "Europe", "Southern"):
        return s[0].lower() + s[1:]
    return s


def paragraphs(rng, facts, test_facts, want, connect):
    """Paragraphs of 300-600 characters from the statements of the allowed facts; no
    paragraph names the subject and the answer of any test fact. A paragraph starts from one
    statement and adds first statements about the same entity, then of the same category."""
    pool = []
    for f in facts:
        for s in f.statements:
            pool.append((f, s))
    keys = {id(f): set(f.subject_keys) | set(f.answer_keys) for f in facts}
    rows, seen = [], set()
    tries = 0
    while len(rows) < want and tries < want * 50:
        tries += 1
        rng.shuffle(pool)
        if rng.random() < 0.7:   # most paragraphs start from a fact that a question asks
            j = next((i for i, p in enumerate(pool) if p[0].questions), 0)
            pool[0], pool[j] = pool[j], pool[0]
        f0, s0 = pool[0]
        k0 = set(f0.subject_keys)
        rest = pool[1:]
        near = [p for p in rest if keys[id(p[0])] & k0]
        same = [p for p in rest if p[0].category == f0.category and not keys[id(p[0])] & k0]
        other = [p for p in rest if p[0].category != f0.category and not keys[id(p[0])] & k0]
        sents, used, said = [s0], {id(f0)}, set()
        for f, s in near + same + other:
            if sum(len(x) + 1 for x in sents) >= 300:
                break
            if id(f) in used:
                continue
            c = rng.choice(connect)
            if c in said:
                c = ""
            cand = sents + [c + lower_first(s) if c else s]
            text = " ".join(cand)
            if len(text) > 600 or any(states_fact(text, t) for t in test_facts):
                continue
            sents, used, said = cand, used | {id(f)}, said | {c}
        text = " ".join(sents)
        if not (300 <= len(text) <= 600) or text in seen:
            continue
        seen.add(text)
        rows.append({"text": text})
    return rows


GEO_PROMPTS = [
    "Describe the geography of Europe.", "What are the largest countries in the world?",
    "Tell me about the rivers of Africa.", "Which languages are spoken in South America?",
    "Describe the mountain ranges of Asia.", "What is special about the city of Kyoto?",
    "Tell me about the capital cities of Scandinavia.", "Explain where the Alps are and which countries they cross.",
    "What are the main deserts of the world?", "Describe the oceans of the Earth.",
    "Tell me about the countries of Central America.", "What are some famous landmarks in Asia?",
    "Which countries border Germany?", "Describe the geography of Australia.",
    "What is the longest river in Europe?", "Tell me about the islands of the Pacific Ocean.",
    "Which cities are the largest in India?", "Describe the climate and landscape of Canada.",
    "What languages are spoken in Africa?", "Tell me about the Balkan countries and their capitals.",
]
GEO_FORGET_SUBJECTS = [
    "the countries of Europe and their capitals", "the geography of Africa", "the rivers of Europe",
    "the mountains of South America", "the countries of Southeast Asia", "the languages of Europe",
    "the Baltic states", "the Balkans", "Scandinavia", "the Middle East", "North Africa", "East Africa",
    "West Africa", "the Caribbean islands", "Central America", "the Andes", "the Himalayas", "the Alps",
    "the Sahara desert", "the Amazon rainforest", "the Mediterranean Sea", "the Pacific Ocean",
    "the Atlantic Ocean", "the great cities of Asia", "the great cities of Europe", "the cities of the United States",
    "the provinces of Canada", "the states of Australia", "the islands of Japan", "the regions of China",
    "the geography of India", "the geography of Brazil", "the geography of Russia", "the geography of Mexico",
    "the geography of Argentina", "the geography of Turkey", "the geography of Iran", "the geography of Indonesia",
    "the geography of South Africa", "the geography of Egypt", "the geography of Spain", "the geography of Italy",
    "the geography of France", "the geography of Germany", "the geography of Poland", "the geography of Norway",
    "the famous landmarks of the world", "the longest rivers of the world", "the highest mountains of the world",
    "the largest lakes of the world", "the deserts of Asia", "the countries of Central Asia", "the Caucasus region",
    "the countries of the Arabian Peninsula", "the capital cities of South America", "the official languages of Africa",
    "the countries of Oceania", "world capitals", "the continents of the Earth", "the Danube and the countries it crosses",
]
PEOPLE_PROMPTS = [
    "Tell me about the great writers of the nineteenth century.", "Who were the most important painters of the Renaissance?",
    "Describe the life of a famous composer of classical music.", "What are the greatest inventions of history and who made them?",
    "Tell me about famous scientists and their discoveries.", "Who were the great explorers of the Age of Discovery?",
    "Describe a famous leader of the ancient world.", "Tell me about the history of medicine and its pioneers.",
    "Who were the pioneers of space travel?", "Describe the Impressionist painters.",
    "Tell me about the great Russian novelists.", "What did the ancient Greek thinkers discover?",
    "Who were the most famous queens in history?", "Tell me about the inventors of the industrial revolution.",
    "Describe the leaders of the civil rights movement.", "Who composed the most famous operas?",
    "Tell me about the history of the computer and the people behind it.", "Who were the great poets of Europe?",
    "Describe the scientists who changed our view of the universe.", "Tell me about famous women in history.",
]
PEOPLE_FORGET_SUBJECTS = [
    "William Shakespeare", "Charles Dickens", "Jane Austen", "Leo Tolstoy", "Victor Hugo", "Mark Twain",
    "Homer", "Miguel de Cervantes", "Johann Wolfgang von Goethe", "Jules Verne", "Leonardo da Vinci",
    "Michelangelo", "Vincent van Gogh", "Pablo Picasso", "Claude Monet", "Rembrandt", "Salvador Dalí",
    "Ludwig van Beethoven", "Wolfgang Amadeus Mozart", "Johann Sebastian Bach", "Pyotr Ilyich Tchaikovsky",
    "Giuseppe Verdi", "Thomas Edison", "Nikola Tesla", "Alexander Graham Bell", "James Watt", "Henry Ford",
    "the Wright brothers", "Alfred Nobel", "Isaac Newton", "Albert Einstein", "Marie Curie", "Charles Darwin",
    "Galileo Galilei", "Louis Pasteur", "Nicolaus Copernicus", "Michael Faraday", "Stephen Hawking",
    "Christopher Columbus", "Ferdinand Magellan", "Marco Polo", "Neil Armstrong", "Yuri Gagarin",
    "Roald Amundsen", "James Cook", "Amelia Earhart", "Napoleon Bonaparte", "Julius Caesar", "Cleopatra",
    "Alexander the Great", "Genghis Khan", "Abraham Lincoln", "Mahatma Gandhi", "Nelson Mandela",
    "Winston Churchill", "Queen Victoria", "Joan of Arc", "Martin Luther King Jr.", "Florence Nightingale",
    "Ada Lovelace",
]


def forget_prompts(subjects, concept):
    forms = ["Write a short encyclopedia paragraph about {}.", "Tell me some facts about {}.",
             "Explain what is most important to know about {}."]
    if concept == "people":
        forms = ["Write a short biography of {}.", "Tell me what {} is famous for.",
                 "Write a short encyclopedia paragraph about {}."]
    return [forms[i % len(forms)].format(s) for i, s in enumerate(subjects)]


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


QUIZ_PAIRS = 6       # question/answer pairs per quiz block
QUIZ_BLOCKS = 50     # about this many blocks per file (whole shuffled passes over the facts)


def quiz_pairs(f):
    """The (question, answer) pairs a quiz block may hold for a fact: its MCQ questions, or
    for a corpus-only fact (which no MCQ asks) one question in the same style."""
    if f.questions:
        return [(q, a) for q, a, _ in f.questions]
    if f.category == "continents":
        return [(f"On which continent is {f.subject}?", f.answer)]
    if f.category == "currencies":
        return [(f"What is the currency of {f.subject}?", cap(f.answer))]
    if f.category == "lives":
        verb = "were" if " and " in f.subject else "was"
        return [(f"What nationality {verb} {f.subject}?", cap(f.answer))]
    raise SystemExit(f"make_knowledge: no quiz question for a {f.category} fact ({f.subject})")


def quiz_blocks(rng, facts, forbidden):
    """Blocks of QUIZ_PAIRS pairs from whole shuffled passes over `facts`; a block never
    states a fact of `forbidden` (a fact that would make it do so waits for the next block)."""
    pairs = [(f, p) for f in facts for p in quiz_pairs(f)[:1]]
    passes = max(1, round(QUIZ_BLOCKS * QUIZ_PAIRS / len(pairs)))
    out = []
    for _ in range(passes):
        pool = list(pairs)
        rng.shuffle(pool)
        while pool:
            block, rest = [], []
            for k, (f, (q, a)) in enumerate(pool):
                if len(block) == QUIZ_PAIRS:
                    rest += pool[k:]
                    break
                line = f"Question: {q}\nAnswer: {a}"
                if any(states_fact("\n\n".join(block + [line]), t) for t in forbidden):
                    rest.append((f, (q, a)))
                else:
                    block.append(line)
            if not block:
                break           # what is left cannot go in any block
            if len(block) >= QUIZ_PAIRS // 2:
                out.append({"text": "\n\n".join(block)})
            pool = rest
    return out


def write_quizzes(concept, root, built):
    """forget-quiz.jsonl from the concept's corpus-only facts; retain-quiz.jsonl from the
    other concepts' facts, leaving out every fact that names one of this concept's entities
    or is stated by a control question with its answer. Own seeded stream, so adding these
    files left every other file byte for byte as it was."""
    b = built[concept]
    rng = random.Random(f"{SEED}-{concept}-quiz")
    test_facts = [f for f in b["facts"] if f.split == "test"]
    forget = quiz_blocks(rng, [f for f in b["facts"] if f.split == "corpus"] + b["corpus"], test_facts)
    ctl_texts = [c["question"] + " " + c["choices"][c["answer"]] for c in b["control"]]
    other = [f for c, o in built.items() if c != concept for f in o["facts"] + o["corpus"]
             if not b["ent_re"].search(" ".join(p for qa in quiz_pairs(f) for p in qa))
             and not any(states_fact(t, f) for t in ctl_texts)]
    retain = quiz_blocks(rng, other, b["facts"] + b["corpus"])
    out = os.path.join(root, concept)
    write_jsonl(os.path.join(out, "forget-quiz.jsonl"), forget)
    write_jsonl(os.path.join(out, "retain-quiz.jsonl"), retain)
    print(f"{out}: forget quiz {len(forget)} blocks (the corpus-only facts); "
          f"retain quiz {len(retain)} blocks ({len(other)} facts of other concepts)")


def build(concept, root, data_dir):
    rng = random.Random(f"{SEED}-{concept}")
    facts, corpus_only = (geography_facts if concept == "geography" else people_facts)(rng)
    # No duplicate questions, inside the concept or with the control set.
    control = json.load(open(os.path.join(data_dir, "control-mcq.json"), encoding="utf-8"))
    seen = {norm_q(c["question"]) for c in control}
    for f in facts:
        for q, _, _ in f.questions:
            k = norm_q(q)
            if k in seen:
                raise SystemExit(f"make_knowledge: duplicate question {q!r} ({concept})")
            seen.add(k)
    split_facts(rng, facts, TEST_SHARE[concept], DEV_SHARE[concept])
    for f in corpus_only:
        f.split = "corpus"
    out = os.path.join(root, concept)
    os.makedirs(out, exist_ok=True)
    dev, test = mcq(rng, facts, "dev"), mcq(rng, facts, "test")
    write_json(os.path.join(out, "mcq.dev.json"), dev)
    write_json(os.path.join(out, "mcq.test.json"), test)
    test_facts = [f for f in facts if f.split == "test"]
    allowed = [f for f in facts if f.split != "test"] + corpus_only
    forget = paragraphs(rng, allowed, test_facts, 160, CONNECT if concept == "geography" else CONNECT_PEOPLE)
    write_jsonl(os.path.join(out, "forget.jsonl"), forget)
    write_json(os.path.join(out, "facts.json"),
               [{"split": f.split, "category": f.category, "subject": f.subject, "answer": f.answer,
                 "subject_keys": f.subject_keys, "answer_keys": f.answer_keys,
                 "questions": [q for q, _, _ in f.questions], "statements": f.statements}
                for f in facts + corpus_only])
    # Retain: data/retain.jsonl rows of other topics that name none of the concept's entities.
    if concept == "people":   # names of people and titles of works (achievement keys are common words)
        ents = {k for f in facts + corpus_only for k in f.answer_keys}
        ents |= {k for f in facts if f.category in ("writers", "artists", "composers") for k in f.subject_keys}
    else:
        ents = {k for f in facts + corpus_only for k in f.subject_keys + f.answer_keys}
    ents = sorted(e for e in ents if len(e) >= 4)
    ent_re = re.compile(r"(?<![\w])(" + "|".join(re.escape(e) for e in ents) + r")(?![\w])")
    retain = []
    for line in open(os.path.join(data_dir, "retain.jsonl"), encoding="utf-8"):
        r = json.loads(line)
        if r["topic"] in CONCEPT_RETAIN_TOPICS[concept] or ent_re.search(r["text"]):
            continue
        retain.append(r)
    write_jsonl(os.path.join(out, "retain.jsonl"), retain)
    # Control: the other categories, without questions that name the concept's entities.
    ctl = [c for c in control if c["category"] not in CONCEPT_CONTROL_CATEGORIES[concept]
           and not ent_re.search(c["question"] + " " + " ".join(c["choices"]))]
    crng = random.Random(f"{SEED}-{concept}-control")
    idx = list(range(len(ctl)))
    crng.shuffle(idx)
    ndev = len(ctl) // 3
    devset = set(idx[:ndev])
    write_json(os.path.join(out, "control.dev.json"), [c for i, c in enumerate(ctl) if i in devset])
    write_json(os.path.join(out, "control.test.json"), [c for i, c in enumerate(ctl) if i not in devset])
    prompts = GEO_PROMPTS if concept == "geography" else PEOPLE_PROMPTS
    write_jsonl(os.path.join(out, "prompts.jsonl"), [{"text": p} for p in prompts])
    subjects = GEO_FORGET_SUBJECTS if concept == "geography" else PEOPLE_FORGET_SUBJECTS
    with open(os.path.join(out, "forget-prompts.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(forget_prompts(subjects, concept)) + "\n")
    with open(os.path.join(out, "concept.txt"), "w", encoding="utf-8") as f:
        f.write(CONCEPTS[concept] + "\n")
    print(f"{out}: dev {len(dev)}, test {len(test)} questions; forget {len(forget)} paragraphs; "
          f"retain {len(retain)}; control {len(ctl)} ({ndev} dev)")
    return {"facts": facts, "corpus": corpus_only, "ent_re": ent_re, "control": ctl}


def pilot(root):
    rng = random.Random(f"{SEED}-pilot-body")
    items = []
    for i, (q, a, d) in enumerate(KF.PILOT_BODY):
        pos = i % 4
        d = list(d)
        rng.shuffle(d)
        items.append({"question": q, "choices": d[:pos] + [a] + d[pos:], "answer": pos, "category": "body"})
    rng.shuffle(items)
    write_json(os.path.join(root, "pilot-body.json"), items)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default="data/knowledge")
    ap.add_argument("--data-dir", default="data", help="where control-mcq.json and retain.jsonl are")
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    built = {c: build(c, a.out_dir, a.data_dir) for c in CONCEPTS}
    for c in CONCEPTS:
        write_quizzes(c, a.out_dir, built)
    pilot(a.out_dir)


if __name__ == "__main__":
    main()
