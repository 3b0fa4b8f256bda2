package dev.loracle.oracle.it;

import dev.loracle.oracle.TestDatabases;

/** The end-to-end scenarios with the embedded H2 journal. */
class H2OracleNodeIT extends OracleNodeIT {
    @Override
    TestDatabases.Kind database() {
        return TestDatabases.Kind.H2;
    }
}
