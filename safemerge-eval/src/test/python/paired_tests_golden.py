"""Golden values for McNemar's exact test (scipy.stats.binomtest, two-sided, p = 0.5 on the discordant pairs) and
Cochran's Q (statsmodels-free: Q by its textbook formula, the p-value from scipy.stats.chi2.sf), printed as Java
test rows. Run: python3 paired_tests_golden.py (scipy 1.17.1 produced the committed values)."""
from scipy.stats import binomtest, chi2

for b, c in [(0, 0), (1, 0), (5, 0), (3, 7), (10, 2), (12, 12), (40, 25), (100, 130), (6, 1), (0, 9)]:
    p = binomtest(b, b + c, 0.5).pvalue if b + c > 0 else 1.0
    print(f"            {{{b}, {c}, {float(p)!r}}},")

def cochran(rows):
    k = len(rows[0])
    cols = [sum(r[j] for r in rows) for j in range(k)]
    total = sum(cols)
    row_sums = [sum(r) for r in rows]
    q = (k - 1) * (k * sum(c * c for c in cols) - total * total) / (k * total - sum(r * r for r in row_sums))
    return q, chi2.sf(q, k - 1)

rows = [[1, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 1], [1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 0, 0], [1, 0, 1], [1, 1, 0]]
print("cochran", *map(float, cochran(rows)))
rows4 = [[1, 0, 0, 1], [1, 1, 0, 1], [0, 0, 0, 1], [1, 0, 1, 1], [1, 1, 0, 0], [1, 0, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]]
print("cochran4", *map(float, cochran(rows4)))
