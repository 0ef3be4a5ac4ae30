package dev.safemerge.app;

import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.kernel.KernelProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code safemerge} command line. Exit codes: 0 ok, 1 a check failed, 2 bad input or usage, 4 a gate that cannot
 * decide, others a bug.
 */
@Command(
        name = "safemerge",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Merge fine-tuned models with their aligned base, evaluate safety and task performance, "
                + "and keep the best trade-off.",
        footer = {
            "",
            "Run 'safemerge COMMAND --help' for a command's options and an example.",
            "",
            "In examples, names in capitals (MODEL_DIR, ADAPTER_DIR, RESPONSES.jsonl) stand for your own models and"
                    + " files; paths under examples/ and data/ ship with safemerge (run from its folder)."
        })
public final class Main implements Runnable {
    public static final int EXIT_OK = 0;
    public static final int EXIT_CHECK_FAILED = 1;
    public static final int EXIT_BAD_INPUT = 2;
    public static final int EXIT_BUG = 3;
    /** A gate that cannot decide: too few samples. */
    public static final int EXIT_INCONCLUSIVE = 4;

    @Option(
            names = "--debug",
            scope = CommandLine.ScopeType.INHERIT,
            description = "Print the kernels in use and stack traces of errors.")
    boolean debug;

    @Option(
            names = "--quiet",
            scope = CommandLine.ScopeType.INHERIT,
            description = "Show no progress on stderr (results and errors still print).")
    boolean quiet;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command line with the given streams and returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        CommandLine commandLine = commandLine();
        commandLine.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        commandLine.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        try {
            // decided once, here at start-up: a bad -Dsafemerge.kernels value is a usage error before any command runs
            KernelProvider.get();
        } catch (ExceptionInInitializerError e) {
            if (e.getCause() instanceof BadInputException bad) {
                commandLine.getErr().println("error: " + oneLine(bad.getMessage()));
                return EXIT_BAD_INPUT;
            }
            throw e;
        }
        boolean debug = java.util.Arrays.asList(args).contains("--debug");
        if (debug) {
            commandLine.getErr().println("kernels: " + KernelProvider.get().description());
        }
        commandLine.setParameterExceptionHandler((ex, ignored) -> {
            ex.getCommandLine().getErr().println("error: " + ex.getMessage());
            ex.getCommandLine()
                    .getErr()
                    .println("Run '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' for usage.");
            return EXIT_BAD_INPUT;
        });
        commandLine.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            PrintWriter errors = cmd.getErr();
            String diskFull = diskFullMessage(ex);
            int code = diskFull != null ? EXIT_BAD_INPUT : exitCodeOf(ex);
            if (diskFull != null) {
                errors.println("error: " + oneLine(diskFull));
            } else if (code == EXIT_BAD_INPUT) {
                errors.println("error: " + oneLine(ex.getMessage()));
            } else {
                errors.println("internal error (a bug in safemerge): " + ex);
            }
            if (debug) {
                ex.printStackTrace(errors);
            } else if (code != EXIT_BAD_INPUT) {
                errors.println("Run again with --debug for the stack trace.");
            }
            errors.flush();
            return code;
        });
        return commandLine.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new Main());
        for (Object command : Subcommands.all()) {
            commandLine.addSubcommand(command);
        }
        return commandLine;
    }

    private static int exitCodeOf(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof BadInputException) {
                return EXIT_BAD_INPUT;
            }
        }
        return EXIT_BUG;
    }

    /**
     * A full disk is the environment, not a bug: one line naming what was being written, exit 2. Java reports ENOSPC
     * only as an {@link IOException} whose message is the C library's text, so that text is what is matched; the
     * path comes from the exception itself or from the nearest wrapper that says what was being written.
     */
    static String diskFullMessage(Throwable error) {
        String context = null;
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof java.nio.file.FileSystemException fileError && fileError.getFile() != null) {
                context = fileError.getFile();
            }
            if (cause instanceof IOException
                    && cause.getMessage() != null
                    && cause.getMessage().contains("No space left on device")) {
                return (context == null ? "" : context + ": ")
                        + "no space left on device (free some space and run the command again)";
            }
            if (cause.getMessage() != null
                    && !(cause.getCause() != null
                            && cause.getMessage().equals(cause.getCause().toString()))) {
                context = cause.getMessage();
            }
        }
        return null;
    }

    private static String oneLine(String message) {
        if (message == null) {
            return "";
        }
        return message.replace('\n', ' ').strip();
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            Properties properties = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    properties.load(in);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new String[] {
                "safemerge " + properties.getProperty("version", "unknown"),
                "Java " + Runtime.version() + " (" + System.getProperty("java.vm.vendor") + ")",
                "kernels: " + KernelProvider.get().description()
            };
        }
    }
}
