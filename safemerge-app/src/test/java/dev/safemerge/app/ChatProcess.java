package dev.safemerge.app;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The real chat as its own process, for tests that talk to it as a user would, and what it shows them. */
final class ChatProcess {
    /** A context long enough that only an interrupt can end an answer the tests start. */
    static final int LONG_CONTEXT = 1 << 18;

    /**
     * Perl restores SIGINT's default disposition and exec's the rest, keeping the pid: a job started in the background
     * of a non-interactive shell (as a CI step may be) inherits SIGINT ignored, and a JVM leaves an ignored SIGINT
     * ignored.
     */
    static final Path PERL = Path.of("/usr/bin/perl");

    private ChatProcess() {}

    /** The tiny chat model with {@link #LONG_CONTEXT} positions. */
    static Path longContextModel(Path dir) throws IOException {
        Path model = TinyChatModel.write(dir, 1);
        ObjectNode config = (ObjectNode)
                JsonMappers.plain().readTree(model.resolve("config.json").toFile());
        config.put("max_position_embeddings", LONG_CONTEXT);
        Files.writeString(model.resolve("config.json"), config.toPrettyString());
        return model;
    }

    /** {@code chat --model model extra…} in this JVM's class path with a default SIGINT, {@code home} as user.home. */
    static List<String> command(Path home, Path model, String... extra) {
        List<String> command = new ArrayList<>(List.of(
                PERL.toString(),
                "-e",
                "$SIG{INT} = 'DEFAULT'; exec @ARGV or die \"exec: $!\"",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-Duser.home=" + home,
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "chat",
                "--model",
                model.toString()));
        command.addAll(List.of(extra));
        return command;
    }

    /** Everything the chat wrote, read as it comes; each wait ends on output, never on time. */
    static final class Screen {
        private final InputStream in;
        private final StringBuilder seen = new StringBuilder();
        /** How much of {@code seen} earlier waits have matched: a marker counts only when it comes after. */
        private int consumed;

        Screen(InputStream in) {
            this.in = in;
        }

        /** Reads until {@code marker} appears after what the previous waits consumed. */
        void readUntil(String marker) throws IOException {
            int from = consumed;
            while (seen.indexOf(marker, from) < 0) {
                read();
            }
            consumed = seen.indexOf(marker, from) + marker.length();
        }

        /** Reads until the first visible character of an answer: text after the end of the typed line. */
        void readUntilAnswer() throws IOException {
            readUntil("\n");
            while (true) {
                int c = read();
                if (c == 0x1b) {
                    skipEscapeSequence();
                } else if (Character.isLetterOrDigit(c)) {
                    consumed = seen.length();
                    return;
                }
            }
        }

        /** Reads any one byte of output. */
        void readSomething() throws IOException {
            read();
            consumed = seen.length();
        }

        private void skipEscapeSequence() throws IOException {
            int c = read();
            if (c == '[') {
                do {
                    c = read();
                } while (c < 0x40 || c > 0x7e);
            }
        }

        private int read() throws IOException {
            int b = in.read();
            if (b < 0) {
                throw new IOException("chat ended early; output so far: " + seen);
            }
            seen.append((char) b);
            return b;
        }

        @Override
        public String toString() {
            return seen.toString();
        }
    }
}
