"""elm_templates.py — libelm's built-in expert/novice prefixes and template PRNG.

The same lists live in libelm/erase/templates.c; the erase parity test
(tests/erase) fails if the two drift apart, because template_choice=cycle
uses them in order. Each prefix contains {concept} and ends with a newline.
"""

EXPERT = [
    "The following is written by an expert in {concept}:\n",
    "Here is a passage by a leading specialist in {concept}:\n",
    "An experienced researcher who knows everything about {concept} wrote this:\n",
    "Text from a textbook on {concept}, written by a professor of the field:\n",
    "A world authority on {concept} explains:\n",
    "The next paragraph comes from a technical manual on {concept}:\n",
    "Written by someone with decades of hands-on work in {concept}:\n",
    "From the notes of a master of {concept}:\n",
    "An accurate, detailed account by an expert on {concept}:\n",
    "This was written by a scholar who has studied {concept} all their life:\n",
]

NOVICE = [
    "The following is written by someone who knows nothing about {concept}:\n",
    "Here is a passage by a person who has never heard of {concept}:\n",
    "A beginner who is confused about {concept} wrote this:\n",
    "Text from someone who cannot tell you anything true about {concept}:\n",
    "A child who has no idea what {concept} is explains:\n",
    "The next paragraph is a guess by someone unfamiliar with {concept}:\n",
    "Written by someone with no knowledge of {concept} at all:\n",
    "From the notes of a person who avoids the topic of {concept}:\n",
    "A vague, uninformed account by a novice in {concept}:\n",
    "This was written by a stranger to {concept} who never studied it:\n",
]

MASK64 = (1 << 64) - 1


def splitmix64(state):
    """One splitmix64 step: returns (new_state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK64


class Xoshiro256:
    """xoshiro256** seeded by four splitmix64 outputs of the seed (libelm's
    erase/prng.c does the same)."""

    def __init__(self, seed):
        st = seed & MASK64
        self.s = []
        for _ in range(4):
            st, z = splitmix64(st)
            self.s.append(z)

    def next(self):
        s = self.s
        result = (_rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def below(self, n):
        """Uniform integer in [0, n): the high 32 bits times n, shifted
        (bias < n / 2^32, irrelevant for n = 10)."""
        return ((self.next() >> 32) * n) >> 32
