"""Text measures shared by the demo and the benchmarks (stdlib only)."""


def loops(text, n=4, times=3):
    """True when some word n-gram (lower-cased, whitespace-split) occurs `times` or more
    times in the text: the generation has fallen into a loop ("fashion, fashion, fashion")."""
    w = text.lower().split()
    seen = {}
    for i in range(len(w) - n + 1):
        g = tuple(w[i:i + n])
        seen[g] = seen.get(g, 0) + 1
        if seen[g] >= times:
            return True
    return False


def repetition_rate(texts, n=4, times=3):
    """Share of the texts that loop (see loops); 0 for no texts."""
    texts = list(texts)
    return sum(loops(t, n, times) for t in texts) / len(texts) if texts else 0.0
