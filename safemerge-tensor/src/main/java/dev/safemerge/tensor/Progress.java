package dev.safemerge.tensor;

/**
 * How library code reports the progress of long work (bytes merged, tokens generated, steps trained). Library code
 * takes a {@link Progress.Factory} and never draws anything itself: the command line renders it (a bar in a terminal,
 * a line per phase in logs), and tests and quiet runs pass {@link #SILENT}.
 */
public interface Progress extends AutoCloseable {
    /** Adds {@code amount} units of completed work. Thread-safe. */
    void step(long amount);

    /** Replaces the trailing message (a loss, the current tensor). */
    void message(String text);

    @Override
    void close();

    /** Creates a progress display for one task. */
    @FunctionalInterface
    interface Factory {
        /**
         * @param task short name shown before the bar
         * @param total units of work, or -1 when unknown
         * @param unit "B" for bytes (shown scaled, as MB/s) or a word such as "tok", "step", "tensor"
         */
        Progress start(String task, long total, String unit);
    }

    Progress NONE = new Progress() {
        @Override
        public void step(long amount) {}

        @Override
        public void message(String text) {}

        @Override
        public void close() {}
    };

    Factory SILENT = (task, total, unit) -> NONE;
}
