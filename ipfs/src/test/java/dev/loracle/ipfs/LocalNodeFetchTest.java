package dev.loracle.ipfs;

import java.net.URI;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The fetch scenarios against a real local node: Kubo if on PATH, else js-ipfs from deploy/dev-stack. */
class LocalNodeFetchTest extends FetchScenarios {
    private static IpfsNodeProcess node;

    @BeforeAll
    static void startNode() {
        node = IpfsNodeProcess.start();
    }

    @AfterAll
    static void stopNode() {
        if (node != null) {
            node.close();
        }
    }

    @Override
    URI apiUrl() {
        return node.apiUrl();
    }

    @Override
    URI trustlessGatewayUrl() {
        return node.kind() == IpfsNodeProcess.Kind.KUBO ? node.gatewayUrl() : null;
    }
}
