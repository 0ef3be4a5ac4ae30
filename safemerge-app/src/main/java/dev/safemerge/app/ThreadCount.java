package dev.safemerge.app;

import dev.safemerge.tensor.BadInputException;

/** The one rule for {@code --threads} in every command: absent means one per core, else 1 to {@link #MAX}. */
final class ThreadCount {
    /** More threads than this only thrash; a typo such as 100000 would exhaust the process's threads. */
    static final int MAX = 1024;

    private ThreadCount() {}

    /** The worker count for the option's value (null when the option was not given). */
    static int resolve(Integer requested) {
        if (requested == null) {
            return Runtime.getRuntime().availableProcessors();
        }
        if (requested < 1 || requested > MAX) {
            throw new BadInputException("--threads must be between 1 and " + MAX + ", got " + requested);
        }
        return requested;
    }
}
