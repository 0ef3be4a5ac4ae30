package dev.safemerge.registry;

import dev.safemerge.tensor.BadInputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteErrorCode;

/**
 * One connection to the registry database, migrated to the current schema, and the transaction discipline that keeps
 * several writing processes safe: every write runs in one transaction that first takes the database's single writer
 * lock (SQLite: {@code BEGIN IMMEDIATE} on a WAL database with a busy timeout; PostgreSQL: a row lock on
 * {@code audit_head}), so read-modify-write sequences such as "next version number" or "append to the audit chain"
 * never interleave, and a failure rolls everything back.
 */
final class Database implements AutoCloseable {
    enum Dialect {
        SQLITE,
        POSTGRESQL
    }

    /** A unit of work on the connection. */
    interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    private static final String SCHEMA_VERSION = "3";

    /** Held so that the level set on it stays (java.util.logging keeps loggers weakly). */
    private static final java.util.logging.Logger FLYWAY_LOG = java.util.logging.Logger.getLogger("org.flywaydb");

    static {
        // Flyway logs through SLF4J when the application has a binding, else java.util.logging; its progress lines
        // are noise on a command line.
        System.setProperty("org.slf4j.simpleLogger.log.org.flywaydb", "warn");
        FLYWAY_LOG.setLevel(java.util.logging.Level.WARNING);
    }

    private final Connection connection;
    private final Dialect dialect;
    private final String description;

    private Database(Connection connection, Dialect dialect, String description) {
        this.connection = connection;
        this.dialect = dialect;
        this.description = description;
    }

    /** The default database file: {@code ~/.safemerge/registry.db}. */
    static Path defaultFile() {
        return Path.of(System.getProperty("user.home"), ".safemerge", "registry.db");
    }

    /** Opens {@code db} (a file path or a JDBC URL; null for the default file) and migrates it. */
    static Database open(String db, Duration busyTimeout) {
        if (db == null || db.isBlank()) {
            db = defaultFile().toString();
        }
        if (db.startsWith("jdbc:postgresql:")) {
            return openPostgres(db);
        }
        if (db.startsWith("jdbc:")) {
            throw new BadInputException(
                    "--db " + db + ": only jdbc:postgresql:// URLs or SQLite file paths are supported");
        }
        return openSqlite(Path.of(db), busyTimeout);
    }

    private static Database openSqlite(Path file, Duration busyTimeout) {
        Path absolute = file.toAbsolutePath();
        String description = absolute.toString();
        if (Files.isDirectory(absolute)) {
            throw new BadInputException(description + ": is a directory, not a registry database file");
        }
        try {
            Files.createDirectories(absolute.getParent());
        } catch (IOException e) {
            throw new BadInputException(description + ": cannot create its folder (" + e.getMessage() + ")", e);
        }
        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout((int) Math.min(Integer.MAX_VALUE, busyTimeout.toMillis()));
        config.enforceForeignKeys(true);
        String url = "jdbc:sqlite:" + absolute;
        Properties properties = config.toProperties();
        try {
            Connection connection = DriverManager.getConnection(url, properties);
            Database database = new Database(connection, Dialect.SQLITE, description);
            try (Statement statement = connection.createStatement()) {
                // WAL: readers never block the writer and a crash mid-write leaves the last committed state.
                statement.execute("PRAGMA journal_mode=WAL");
                statement.execute("PRAGMA synchronous=FULL");
            }
            if (!database.isCurrent()) {
                // Flyway takes no lock on SQLite: processes opening a fresh file at once take turns.
                try (FileChannel lockFile = FileChannel.open(
                                absolute.resolveSibling(absolute.getFileName() + ".migrate-lock"),
                                StandardOpenOption.CREATE,
                                StandardOpenOption.WRITE);
                        FileLock ignored = lockFile.lock()) {
                    database.migrate(url);
                }
            }
            return database;
        } catch (SQLException | FlywayException e) {
            throw translate(description, e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock " + description + " for migration", e);
        }
    }

    private static Database openPostgres(String url) {
        String description = withoutCredentials(url);
        Properties properties = new Properties();
        properties.setProperty("connectTimeout", "10");
        try {
            Connection connection = DriverManager.getConnection(url, properties);
            Database database = new Database(connection, Dialect.POSTGRESQL, description);
            if (!database.isCurrent()) {
                // Flyway serializes concurrent migrations on PostgreSQL with an advisory lock.
                database.migrate(url);
            }
            return database;
        } catch (SQLException | FlywayException e) {
            throw translate(description, e);
        }
    }

    private boolean isCurrent() throws SQLException {
        try (Statement statement = connection.createStatement();
                ResultSet rows =
                        statement.executeQuery("SELECT MAX(version) FROM flyway_schema_history WHERE success = "
                                + (dialect == Dialect.SQLITE ? "1" : "true"))) {
            return rows.next() && SCHEMA_VERSION.equals(rows.getString(1));
        } catch (SQLException e) {
            if (isMissingTable(e)) {
                return false;
            }
            throw e;
        }
    }

    private boolean isMissingTable(SQLException e) {
        String message = String.valueOf(e.getMessage());
        return dialect == Dialect.SQLITE ? message.contains("no such table") : "42P01".equals(e.getSQLState());
    }

    private void migrate(String url) {
        Flyway.configure()
                .dataSource(url, null, null)
                .locations("classpath:db/registry")
                .placeholders(Map.of(
                        "id",
                        dialect == Dialect.SQLITE ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY"))
                .load()
                .migrate();
    }

    Dialect dialect() {
        return dialect;
    }

    String description() {
        return description;
    }

    /** Runs read-only work on the connection in autocommit mode. */
    <T> T read(Work<T> work) {
        try {
            return work.run(connection);
        } catch (SQLException e) {
            throw translate(description, e);
        }
    }

    /** Runs work in one transaction holding the writer lock; commits when it returns, rolls back when it throws. */
    <T> T write(Work<T> work) {
        try {
            begin();
        } catch (SQLException e) {
            throw translate(description, e);
        }
        boolean committed = false;
        try {
            T result = work.run(connection);
            commit();
            committed = true;
            return result;
        } catch (SQLException e) {
            throw translate(description, e);
        } finally {
            if (!committed) {
                rollbackQuietly();
            }
        }
    }

    private void begin() throws SQLException {
        if (dialect == Dialect.SQLITE) {
            // The driver would open the next transaction right after each commit; explicit statements keep the
            // write lock for exactly the transaction's duration.
            try (Statement statement = connection.createStatement()) {
                statement.execute("BEGIN IMMEDIATE");
            }
        } else {
            connection.setAutoCommit(false);
            try (PreparedStatement lock =
                            connection.prepareStatement("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE");
                    ResultSet ignored = lock.executeQuery()) {
                // the row lock is held until commit or rollback
            }
        }
    }

    private void commit() throws SQLException {
        if (dialect == Dialect.SQLITE) {
            try (Statement statement = connection.createStatement()) {
                statement.execute("COMMIT");
            }
        } else {
            connection.commit();
            connection.setAutoCommit(true);
        }
    }

    private void rollbackQuietly() {
        try {
            if (dialect == Dialect.SQLITE) {
                try (Statement statement = connection.createStatement()) {
                    statement.execute("ROLLBACK");
                }
            } else {
                connection.rollback();
                connection.setAutoCommit(true);
            }
        } catch (SQLException ignored) {
            // no transaction was open (BEGIN failed) or it died with the connection; the caller sees the first error
        }
    }

    /** Turns database errors a user can cause or fix (locked, corrupt, unreachable) into one-line bad-input errors. */
    static RuntimeException translate(String description, Exception error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof BadInputException bad) {
                return bad;
            }
            if (cause instanceof org.sqlite.SQLiteException sqlite) {
                SQLiteErrorCode code = sqlite.getResultCode();
                if (code == SQLiteErrorCode.SQLITE_BUSY
                        || code == SQLiteErrorCode.SQLITE_LOCKED
                        || String.valueOf(code).startsWith("SQLITE_BUSY")) {
                    return new BadInputException(
                            description + ": the database is locked by another process (gave up waiting)", error);
                }
                if (code == SQLiteErrorCode.SQLITE_NOTADB
                        || code == SQLiteErrorCode.SQLITE_CORRUPT
                        || String.valueOf(code).startsWith("SQLITE_CORRUPT")) {
                    return new BadInputException(
                            description + ": not a registry database or corrupt (" + sqlite.getMessage() + ")", error);
                }
                if (code == SQLiteErrorCode.SQLITE_CANTOPEN
                        || code == SQLiteErrorCode.SQLITE_READONLY
                        || code == SQLiteErrorCode.SQLITE_IOERR) {
                    return new BadInputException(description + ": cannot open (" + sqlite.getMessage() + ")", error);
                }
            }
            if (cause instanceof SQLException sql
                    && sql.getSQLState() != null
                    && (sql.getSQLState().startsWith("08")
                            || sql.getSQLState().startsWith("28")
                            || sql.getSQLState().equals("3D000"))) {
                return new BadInputException("cannot use " + description + ": " + sql.getMessage(), error);
            }
        }
        return new IllegalStateException("registry database " + description + ": " + error.getMessage(), error);
    }

    private static String withoutCredentials(String url) {
        return url.replaceAll("(?i)([?&]password=)[^&]*", "$1***");
    }

    @Override
    public void close() {
        try {
            connection.close();
        } catch (SQLException ignored) {
            // nothing was pending: every write committed or rolled back before
        }
    }
}
