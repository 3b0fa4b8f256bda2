package dev.loracle.oracle.it;

import dev.loracle.oracle.TestDatabases;
import org.springframework.jdbc.core.simple.JdbcClient;

final class RestartSupport {
    private RestartSupport() {
    }

    /** The journal state read straight from the database, with no node running. */
    static String stateIn(TestDatabases.Db db, String id) {
        return JdbcClient.create(db.dataSource()).sql("SELECT state FROM inference_request WHERE id = :id").param("id", id)
                .query(String.class).single();
    }
}
