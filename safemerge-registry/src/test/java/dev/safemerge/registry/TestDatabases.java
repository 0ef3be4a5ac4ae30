package dev.safemerge.registry;

import static org.assertj.core.api.Assertions.fail;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Assumptions;

/**
 * Fresh registry databases for tests: a SQLite file in a temporary folder, or a new database on the PostgreSQL
 * server named by {@code SAFEMERGE_TEST_PG_URL} (started by {@code .ci/run}). Without that variable the PostgreSQL
 * cases are skipped with a message, except under CI ({@code CI} set), where a missing server fails them.
 */
public final class TestDatabases {
    public static final String PG_URL = System.getenv("SAFEMERGE_TEST_PG_URL");

    private TestDatabases() {}

    /** The dialects every parameterized registry test runs on. */
    public static String[] dialects() {
        return new String[] {"sqlite", "postgresql"};
    }

    public static String fresh(String dialect, Path tempDir) {
        if (dialect.equals("sqlite")) {
            return tempDir.resolve("registry-" + UUID.randomUUID() + ".db").toString();
        }
        if (PG_URL == null || PG_URL.isBlank()) {
            if (System.getenv("CI") != null) {
                fail("SAFEMERGE_TEST_PG_URL is not set under CI: .ci/run must start PostgreSQL for the registry tests");
            }
            Assumptions.abort("PostgreSQL registry tests skipped: SAFEMERGE_TEST_PG_URL is not set (.ci/run sets it)");
        }
        String name =
                "registry_" + UUID.randomUUID().toString().replace("-", "").toLowerCase(Locale.ROOT);
        try (Connection c = DriverManager.getConnection(PG_URL);
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create a test database on " + PG_URL, e);
        }
        return withDatabase(PG_URL, name);
    }

    /**
     * A fresh database migrated only up to schema {@code version}, as an older safemerge left it, for tests that fill
     * it with old rows before the registry opens it.
     */
    public static String atSchemaVersion(String dialect, Path tempDir, String version) {
        String db = fresh(dialect, tempDir);
        Flyway.configure()
                .dataSource(db.startsWith("jdbc:") ? db : "jdbc:sqlite:" + db, null, null)
                .locations("classpath:db/registry")
                .placeholders(Map.of(
                        "id", dialect.equals("sqlite") ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY"))
                .target(version)
                .load()
                .migrate();
        return db;
    }

    /** The server URL with its database name replaced. */
    static String withDatabase(String url, String database) {
        int hostStart = url.indexOf("//") + 2;
        int pathStart = url.indexOf('/', hostStart);
        int query = url.indexOf('?', hostStart);
        String host = url.substring(0, pathStart < 0 ? (query < 0 ? url.length() : query) : pathStart);
        String rest = query < 0 ? "" : url.substring(query);
        return host + "/" + database + rest;
    }

    /** A JDBC connection of the test's own, for reading or tampering with rows behind the registry's back. */
    public static Connection connect(String db) throws SQLException {
        return DriverManager.getConnection(db.startsWith("jdbc:") ? db : "jdbc:sqlite:" + db);
    }
}
