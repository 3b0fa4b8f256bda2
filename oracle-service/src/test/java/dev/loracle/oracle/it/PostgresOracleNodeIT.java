package dev.loracle.oracle.it;

import dev.loracle.oracle.TestDatabases;

/** The end-to-end scenarios with the journal in the real local PostgreSQL (fresh schema per test, dropped after). */
class PostgresOracleNodeIT extends OracleNodeIT {
    @Override
    TestDatabases.Kind database() {
        return TestDatabases.Kind.POSTGRES;
    }
}
