"""The default release policy end to end: real ingest, embed and noise stages, then `curate release`.

The data is learnable from MiniLM embeddings: the chosen response answers the prompt's topic with facts, the
rejected one answers another topic, pins another topic's facts on this one, stays on topic but says nothing, or
refuses curtly, all from varied templates. A fifth of the pairs have their
labels swapped in the file; the default policy, which never sees that truth, must remove mostly those
(precision) and most of them (recall), and must leave a clean file nearly untouched.
"""

from __future__ import annotations

import random

import pytest
from conftest import query, run_ingest, write_jsonl

from curate import embed, noise, release
from curate.release import ReleaseConfig
from curate.warehouse import Warehouse

PAIRS = 300
FLIPPED_SHARE = 0.2
MIN_PRECISION, MIN_RECALL = 0.6, 0.5  # of the dropped and flipped pairs against the planted flips
MAX_CLEAN_REMOVED = 0.08  # share of a clean file the default policy may still remove

TOPICS = {
    "honeybees": ("live in colonies ruled by a single queen", "dance to tell each other where flowers are",
                  "make honey from nectar they store in wax combs"),
    "volcanoes": ("form where magma rises through the crust", "can erupt lava, ash and gas",
                  "build mountains like Mount Fuji over many eruptions"),
    "sourdough bread": ("rises thanks to a starter of wild yeast", "gets its tang from lactic acid bacteria",
                        "needs a long, slow fermentation of the dough"),
    "chess openings": ("fight for control of the centre squares", "develop knights and bishops early",
                       "include the Sicilian Defence and the Queen's Gambit"),
    "glaciers": ("are rivers of ice that flow under their own weight", "carve U-shaped valleys as they move",
                 "store most of the world's fresh water"),
    "violins": ("have four strings tuned in fifths", "are played with a bow strung with horsehair",
                "were perfected by makers like Stradivari in Cremona"),
    "comets": ("are icy bodies that grow tails near the Sun", "come from the Kuiper belt and the Oort cloud",
               "like Halley's return on long elliptical orbits"),
    "lighthouses": ("guide ships with a bright rotating lamp", "use Fresnel lenses to focus their beam",
                    "each flash in a pattern sailors can recognise"),
    "tides": ("are caused mostly by the Moon's gravity", "rise and fall about twice a day",
              "are strongest at new and full moon, the spring tides"),
    "photosynthesis": ("turns light, water and carbon dioxide into sugar", "happens in the chloroplasts of leaves",
                       "releases oxygen as a by-product"),
    "the Roman Empire": ("was ruled from Rome by emperors after Augustus", "built roads and aqueducts across Europe",
                         "split into a western and an eastern half"),
    "black holes": ("have gravity so strong that light cannot escape", "form when massive stars collapse",
                    "are surrounded by an event horizon"),
    "coffee": ("comes from the roasted seeds of the coffee plant", "contains caffeine, a mild stimulant",
               "is grown mostly in Brazil, Vietnam and Colombia"),
    "owls": ("hunt at night with silent flight", "can turn their heads about 270 degrees",
             "swallow prey whole and cough up pellets"),
    "the immune system": ("defends the body against germs", "uses white blood cells and antibodies",
                          "remembers past infections, which is how vaccines work"),
    "tea": ("is brewed from the leaves of Camellia sinensis", "comes as green, black, oolong and white",
            "was first drunk in China thousands of years ago"),
    "earthquakes": ("happen when tectonic plates slip along faults", "are measured on the moment magnitude scale",
                    "can trigger tsunamis under the sea"),
    "kites": ("fly because wind pushes against a tilted surface", "need a tether to hold the right angle",
              "were first flown in ancient China"),
    "copper": ("conducts electricity and heat very well", "turns green when it weathers, like the Statue of Liberty",
               "is mixed with tin to make bronze"),
    "rainbows": ("appear when sunlight is refracted in raindrops", "show colours from red to violet",
                 "are seen with the Sun behind you"),
    "penguins": ("are flightless birds that swim with their wings", "live mostly in the southern hemisphere",
                 "huddle together to survive Antarctic winters"),
    "the printing press": ("was developed by Gutenberg around 1440", "used movable metal type",
                           "made books cheap and spread literacy"),
    "bicycles": ("turn pedal power into motion through a chain", "stay upright thanks to steering and speed",
                 "are among the most efficient ways to travel"),
    "deserts": ("get less than 250 millimetres of rain a year", "can be hot like the Sahara or cold like the Gobi",
                "host plants like cacti that store water"),
    "jazz": ("grew out of blues and ragtime in New Orleans", "is built on improvisation and swing",
             "was shaped by musicians like Louis Armstrong"),
    "vaccines": ("train the immune system with a harmless piece of a germ", "have nearly wiped out polio",
                 "are tested in large clinical trials"),
    "the Moon": ("orbits Earth about every 27 days", "always shows us the same face",
                 "was first visited by astronauts in 1969"),
    "mushrooms": ("are the fruiting bodies of fungi", "spread by releasing spores",
                  "connect through underground threads called mycelium"),
    "solar panels": ("convert sunlight into electricity", "are made of silicon cells",
                     "work even on cloudy days, at lower output"),
    "sharks": ("have skeletons made of cartilage", "have existed for over 400 million years",
               "can sense electric fields of their prey"),
}
PROMPTS = ("What can you tell me about {t}?", "Explain {t} to a beginner, please.", "I'm curious about {t}. Any facts?",
           "Give me a short overview of {t}.", "Why are {t} interesting?", "Could you describe {t} in a few sentences?",
           "My kid asked me about {t} and I had no answer. Help?", "Quick question: what should I know about {t}?",
           "Teach me something about {t}.", "Write two sentences about {t}.")
ANSWERS = ("{T} {a}, and they {b}.", "Sure! {T} {a}. They also {b}.", "Good question. {T} {b}; on top of that they {a}.",
           "In short: {T} {a}. Many people also find it striking that they {b}.", "Here is an overview: {T} {a} and {b}.")
VAGUE = ("{T}? People have opinions about that.", "Well, {t} is a big subject, hard to say much.",
         "I have heard of {t}, but honestly it depends.", "{T} are what they are, I suppose.", "Hmm, {t}. Interesting topic!")
REFUSALS = ("I can't help with that.", "Sorry, I won't answer this.", "No.", "That's not something I can discuss.",
            "Look it up yourself.", "I'd rather not.")


def preference_file(path, *, flipped_share: float, seed: int = 0) -> tuple[object, set[str]]:
    """PAIRS rows on distinct prompts, and the prompts whose rows have chosen and rejected swapped: the same texts
    whatever the share (the swaps draw from a generator of their own)."""
    rng = random.Random(seed)
    swapped = set(random.Random(seed + 1).sample(range(PAIRS), round(flipped_share * PAIRS)))
    names = list(TOPICS)
    rows, flipped = [], set()
    for i in range(PAIRS):
        topic = names[i % len(names)]
        prompt = PROMPTS[(i // len(names)) % len(PROMPTS)].format(t=topic)
        chosen = _answer(rng, topic)
        kind, other = rng.random(), rng.choice([n for n in names if n != topic])
        if kind < 0.25:
            rejected = _answer(rng, other)  # fluent, but about another topic
        elif kind < 0.5:
            rejected = _answer(rng, other, about=topic)  # this topic's name, another topic's facts
        elif kind < 0.75:
            rejected = rng.choice(VAGUE).format(T=topic[0].upper() + topic[1:], t=topic)  # on topic, but empty
        else:
            rejected = rng.choice(REFUSALS)
        if i in swapped:
            chosen, rejected = rejected, chosen
            flipped.add(prompt)
        rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected, "language": "en"})
    return write_jsonl(path, rows), flipped


def _answer(rng: random.Random, topic: str, about: str | None = None) -> str:
    """Two facts of ``topic`` in one of the answer templates, said of ``about`` (default: the topic itself)."""
    a, b = rng.sample(TOPICS[topic], 2)
    name = about or topic
    return rng.choice(ANSWERS).format(T=name[0].upper() + name[1:], a=a, b=b)


def released(tmp_path, *, flipped_share: float) -> tuple[Warehouse, dict[str, str], set[str]]:
    """A warehouse through ingest, embed, noise (default configs) and the default release ``r``: the decision per
    prompt, and the flipped prompts."""
    wh = Warehouse.init(tmp_path / "wh")
    source, flipped = preference_file(tmp_path / "prefs.jsonl", flipped_share=flipped_share)
    run_ingest(wh, source, detect_language=False)
    embed.run(wh, embed.EmbedConfig())
    noise.run(wh, noise.NoiseConfig())
    release.run(wh, ReleaseConfig(name="r"))
    decided = dict(query(wh, "SELECT p.prompt[1].content, r.decision FROM release_rows r JOIN pairs p USING (pair_id) "
                             "WHERE r.release = 'r'"))
    return wh, decided, flipped


@pytest.mark.slow
def test_default_release_removes_mostly_the_planted_flips(tmp_path):
    wh, decided, flipped = released(tmp_path, flipped_share=FLIPPED_SHARE)
    removed = {prompt for prompt, decision in decided.items() if decision != "keep"}
    hits = len(removed & flipped)
    precision, recall = hits / max(len(removed), 1), hits / len(flipped)
    rules = {reason: (n, p) for reason, n, p in query(wh, "SELECT reason, pairs, est_precision FROM release_rules "
                                                          "WHERE release = 'r' AND decision <> 'keep'")}
    pairs, estimated = rules.get("noise_drop", (0, None))
    print(f"planted {len(flipped)}, removed {len(removed)}: precision {precision:.3f} (estimated {estimated}), recall {recall:.3f}")
    assert precision >= MIN_PRECISION and recall >= MIN_RECALL, (precision, recall)
    assert rules == {"noise_drop": (pairs, estimated)} and pairs == len(removed)  # no judge verdicts: no flips


@pytest.mark.slow
def test_default_release_leaves_a_clean_file_nearly_untouched(tmp_path):
    _, decided, flipped = released(tmp_path, flipped_share=0.0)
    removed = sum(decision != "keep" for decision in decided.values())
    print(f"clean file: removed {removed} of {len(decided)}")
    assert not flipped and removed <= MAX_CLEAN_REMOVED * len(decided)
