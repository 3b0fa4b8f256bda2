package dev.loracle.oracle;

import org.flywaydb.core.Flyway;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;

/**
 * Databases for tests: a private in-memory H2, or a fresh schema in the local PostgreSQL (127.0.0.1:5432, database test,
 * user postgres, trust auth) that is dropped afterwards.
 */
public final class TestDatabases {
    public static final String PG_BASE_URL = System.getProperty("loracle.test.pg.url", "jdbc:postgresql://127.0.0.1:5432/test");
    public static final String PG_USER = System.getProperty("loracle.test.pg.user", "postgres");

    public enum Kind { H2, POSTGRES }

    /** One database for one test class: url for Spring properties, a DataSource for direct use, close() drops it. */
    public record Db(Kind kind, String url, String user, String schema, DataSource dataSource) implements AutoCloseable {
        public Map<String, Object> springProperties() {
            return Map.of("spring.datasource.url", url, "spring.datasource.username", user, "spring.datasource.password", "");
        }

        public void migrate() {
            Flyway.configure().dataSource(dataSource).locations("classpath:db/migration")
                    .load().migrate();
        }

        @Override
        public void close() {
            if (kind == Kind.POSTGRES) {
                try (Connection c = DriverManager.getConnection(PG_BASE_URL, PG_USER, ""); Statement s = c.createStatement()) {
                    s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
                } catch (SQLException e) {
                    throw new IllegalStateException("could not drop test schema " + schema, e);
                }
            }
        }
    }

    private TestDatabases() {
    }

    public static Db create(Kind kind) {
        String suffix = UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        if (kind == Kind.H2) {
            String url = "jdbc:h2:mem:journal_" + suffix + ";DB_CLOSE_DELAY=-1";
            return new Db(kind, url, "sa", null, new DriverManagerDataSource(url, "sa", ""));
        }
        String schema = "loracle_test_" + suffix;
        try (Connection c = DriverManager.getConnection(PG_BASE_URL, PG_USER, ""); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA " + schema);
        } catch (SQLException e) {
            throw new IllegalStateException("PostgreSQL at " + PG_BASE_URL + " (user " + PG_USER + ") is needed for this test: " + e.getMessage(), e);
        }
        String url = PG_BASE_URL + "?currentSchema=" + schema;
        return new Db(kind, url, PG_USER, schema, new DriverManagerDataSource(url, PG_USER, ""));
    }
}
