package dev.safemerge.app;

import dev.safemerge.tensor.Progress;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Shows the progress library code reports: a bar on stderr when stderr is a terminal (sized to its width), one plain
 * line per phase when it is not (logs get no carriage-return stream), nothing with {@code --quiet}.
 */
final class ConsoleProgress {
    private ConsoleProgress() {}

    /** The display for a command, following the global {@code --quiet} and where stderr goes. */
    static Progress.Factory of(CommandSpec spec) {
        if (spec.root().userObject() instanceof Main main && main.quiet) {
            return Progress.SILENT;
        }
        return stderrIsTerminal()
                ? ConsoleProgress::bar
                : lines(spec.commandLine().getErr());
    }

    /**
     * Whether stderr is a terminal. The console only speaks of stdin and stdout, so with {@code 2> log} on a terminal
     * the bar's carriage-return stream would go into the log and a later error would be glued to its last line. On
     * Linux the descriptor's target says where stderr goes; elsewhere the console decides.
     */
    private static boolean stderrIsTerminal() {
        java.io.Console console = System.console();
        return console != null && console.isTerminal() && isTerminalDevice(Path.of("/proc/self/fd/2"));
    }

    /** Whether a {@code /proc/self/fd} link points at a terminal; true when there is no such link to read. */
    static boolean isTerminalDevice(Path descriptor) {
        try {
            String target = Files.readSymbolicLink(descriptor).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException e) {
            return true;
        }
    }

    /** One line per phase when it ends: {@code generate: 33/33 resp in 1.2 s (27.5 resp/s), loss 0.98}. */
    static Progress.Factory lines(PrintWriter err) {
        return (task, total, unit) -> new Progress() {
            private final Instant start = Instant.now();
            private final AtomicLong done = new AtomicLong();
            private volatile String message;

            @Override
            public void step(long amount) {
                done.addAndGet(amount);
            }

            @Override
            public void message(String text) {
                message = text;
            }

            @Override
            public void close() {
                double seconds = Duration.between(start, Instant.now()).toNanos() / 1e9;
                long units = done.get();
                StringBuilder line = new StringBuilder(task).append(": ");
                line.append(amount(units, unit));
                if (total >= 0 && total != units) {
                    line.append(" of ").append(amount(total, unit));
                }
                line.append(String.format(Locale.ROOT, " in %.1f s", seconds));
                if (seconds > 0 && units > 0) {
                    line.append(" (")
                            .append(amount(Math.round(units / seconds), unit))
                            .append("/s)");
                }
                if (message != null && !message.isBlank()) {
                    line.append(", ").append(message.strip());
                }
                err.println(line);
                err.flush();
            }
        };
    }

    /** {@code 1.5 MB}, {@code 730 kB}, {@code 12 B} for bytes; {@code 33 resp} otherwise. */
    static String amount(long units, String unit) {
        if (!unit.equals("B")) {
            return units + " " + unit;
        }
        if (units >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.1f GB", units / 1e9);
        }
        if (units >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.1f MB", units / 1e6);
        }
        if (units >= 1_000L) {
            return String.format(Locale.ROOT, "%.0f kB", units / 1e3);
        }
        return units + " B";
    }

    /** A bar with done/total, rate and ETA, as wide as the terminal; the message follows after a separator. */
    private static Progress bar(String task, long total, String unit) {
        boolean bytes = unit.equals("B");
        // Scale bytes so that the counts stay readable: MB for large totals, kB for small ones (never "0/0 MB").
        boolean megabytes = bytes && total >= 10_000_000L;
        String shownUnit = bytes ? (megabytes ? " MB" : " kB") : " " + unit;
        long scale = bytes ? (megabytes ? 1_000_000L : 1_000L) : 1L;
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII)
                .setUnit(shownUnit, scale)
                .showSpeed(new DecimalFormat("0.0", DecimalFormatSymbols.getInstance(Locale.ROOT)))
                .setSpeedUnit(java.time.temporal.ChronoUnit.SECONDS)
                .setUpdateIntervalMillis(250)
                .continuousUpdate()
                .setEtaFunction(state -> state.getMax() > 0 && state.getCurrent() > 0
                        ? Optional.of(Duration.ofMillis((long) (Duration.between(state.getStartInstant(), Instant.now())
                                        .toMillis()
                                * (double) (state.getMax() - state.getCurrent())
                                / state.getCurrent())))
                        : Optional.empty())
                .build();
        return new Progress() {
            @Override
            public void step(long amount) {
                bar.stepBy(amount);
            }

            @Override
            public void message(String text) {
                bar.setExtraMessage(" | " + text);
            }

            @Override
            public void close() {
                bar.close();
            }
        };
    }
}
