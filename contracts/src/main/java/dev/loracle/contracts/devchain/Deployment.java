package dev.loracle.contracts.devchain;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Addresses and configuration of a deployed Loracle contract set, as printed by {@link DevChainDeployer}.
 *
 * @param rpcUrl HTTP JSON-RPC endpoint
 * @param wsUrl WebSocket endpoint (null when unknown)
 * @param chainId chain id
 * @param coordinator InferenceCoordinator address
 * @param storyTeller StoryTeller address
 * @param owner coordinator owner
 * @param oracles registered oracle addresses
 * @param modelName model name hashed into {@code modelId}
 * @param modelId keccak256(modelName), 0x-hex
 * @param weightsHash weights hash registered for the model, 0x-hex
 * @param deployBlock block of the coordinator deployment (where log scans can start)
 */
public record Deployment(String rpcUrl, String wsUrl, long chainId, String coordinator, String storyTeller,
        String owner, List<String> oracles, String modelName, String modelId, String weightsHash, long deployBlock) {

    public Deployment {
        oracles = List.copyOf(oracles);
    }

    /** One JSON object, stable field order. */
    public String toJson() {
        return "{"
                + field("rpcUrl", rpcUrl) + ","
                + field("wsUrl", wsUrl) + ","
                + "\"chainId\":" + chainId + ","
                + field("coordinator", coordinator) + ","
                + field("storyTeller", storyTeller) + ","
                + field("owner", owner) + ","
                + "\"oracles\":[" + oracles.stream().map(Deployment::quote).collect(Collectors.joining(",")) + "],"
                + field("modelName", modelName) + ","
                + field("modelId", modelId) + ","
                + field("weightsHash", weightsHash) + ","
                + "\"deployBlock\":" + deployBlock
                + "}";
    }

    private static String field(String name, String value) {
        return quote(name) + ":" + (value == null ? "null" : quote(value));
    }

    private static String quote(String value) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
