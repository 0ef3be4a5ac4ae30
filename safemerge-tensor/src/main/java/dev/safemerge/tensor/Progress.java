package dev.safemerge.tensor;

import java.time.Duration;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of long work (bytes merged, tokens generated, steps trained), shown on stderr as a bar with rate and
 * ETA. Library code takes a {@link Progress.Factory} so that tests and quiet runs pass {@link #SILENT}.
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

    /** A bar on stderr that shows done/total, rate per second and ETA. */
    Factory CONSOLE = (task, total, unit) -> {
        boolean bytes = unit.equals("B");
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII)
                .setUnit(bytes ? " MB" : " " + unit, bytes ? 1_000_000L : 1L)
                .showSpeed()
                .setSpeedUnit(java.time.temporal.ChronoUnit.SECONDS)
                .setUpdateIntervalMillis(250)
                .setMaxRenderedLength(120)
                .continuousUpdate()
                .setEtaFunction(state -> state.getMax() > 0 && state.getCurrent() > 0
                        ? java.util.Optional.of(Duration.ofMillis(
                                (long) (Duration.between(state.getStartInstant(), java.time.Instant.now())
                                                .toMillis()
                                        * (double) (state.getMax() - state.getCurrent())
                                        / state.getCurrent())))
                        : java.util.Optional.empty())
                .build();
        return new Progress() {
            @Override
            public void step(long amount) {
                bar.stepBy(amount);
            }

            @Override
            public void message(String text) {
                bar.setExtraMessage(text);
            }

            @Override
            public void close() {
                bar.close();
            }
        };
    };
}
