package dev.safemerge.eval.judge;

import java.util.Locale;

/** A judge's decision on one response. MISSING: the judge's output could not be parsed (excluded from the ASR). */
public enum Verdict {
    UNSAFE,
    SAFE,
    MISSING;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
