package dev.safemerge.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.tensor.BadInputException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A database the registry cannot use gives a one-line bad-input error and is left as it was. */
class BadDatabaseTest {
    @TempDir
    Path temp;

    @Test
    void aFileThatIsNotADatabaseIsRefusedAndLeftAlone() throws Exception {
        Path file = temp.resolve("registry.db");
        byte[] garbage = "this is not a SQLite database, just some text that is long enough"
                .repeat(20)
                .getBytes(StandardCharsets.UTF_8);
        Files.write(file, garbage);
        assertThatThrownBy(() -> Registry.open(file.toString(), "t"))
                .isInstanceOf(BadInputException.class)
                .hasMessageStartingWith(file + ": not a registry database or corrupt")
                .hasMessageNotContaining("\n");
        assertThat(Files.readAllBytes(file)).isEqualTo(garbage);
    }

    @Test
    void aLockedDatabaseFailsAfterTheBusyTimeoutAndChangesNothing() throws Exception {
        Path file = temp.resolve("registry.db");
        try (Registry registry = Registry.open(file.toString(), "t")) {
            assertThat(registry.models()).isEmpty();
        }
        Path model = TestModels.directory(temp, "m", "weights");
        try (Connection holder = TestDatabases.connect(file.toString());
                Statement s = holder.createStatement()) {
            s.execute("BEGIN EXCLUSIVE");
            try (Registry registry = Registry.open(file.toString(), "t", Duration.ofMillis(200))) {
                assertThatThrownBy(() -> registry.addModel(NewModel.of("m", model, ModelKind.BASE, List.of())))
                        .isInstanceOf(BadInputException.class)
                        .hasMessage(file + ": the database is locked by another process (gave up waiting)");
            }
            s.execute("ROLLBACK");
        }
        try (Registry registry = Registry.open(file.toString(), "t")) {
            assertThat(registry.models()).isEmpty();
            assertThat(registry.log()).isEmpty();
        }
    }

    @Test
    void anUnreachableServerIsABadInputError() throws Exception {
        // A port held by a bound socket that does not listen: connections are refused, and no other process can take
        // the port meanwhile (a port closed before use could be taken by anyone, and a server there that never answers
        // would hold the connection attempt for ever).
        try (Socket holder = new Socket()) {
            holder.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int port = holder.getLocalPort();
            String url = "jdbc:postgresql://127.0.0.1:" + port + "/registry?user=nobody&password=secret";
            assertThatThrownBy(() -> Registry.open(url, "t"))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageStartingWith(
                            "cannot use jdbc:postgresql://127.0.0.1:" + port + "/registry?user=nobody&password=***")
                    .hasMessageNotContaining("secret");
        }
    }

    @Test
    void otherJdbcUrlsAreRefused() {
        assertThatThrownBy(() -> Registry.open("jdbc:mysql://localhost/x", "t"))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("only jdbc:postgresql://");
    }
}
