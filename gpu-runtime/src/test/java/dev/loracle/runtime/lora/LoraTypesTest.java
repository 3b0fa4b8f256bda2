package dev.loracle.runtime.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LoraTypesTest {

    @Test
    void projectionKindsMapPeftNames() {
        assertEquals(ProjectionKind.Q, ProjectionKind.fromPeftModuleName("q_proj"));
        assertEquals(ProjectionKind.K, ProjectionKind.fromPeftModuleName("self_attn.k_proj"));
        assertEquals(ProjectionKind.DOWN, ProjectionKind.fromPeftModuleName("model.layers.7.mlp.down_proj"));
        for (ProjectionKind k : ProjectionKind.values()) {
            assertEquals(k, ProjectionKind.fromPeftModuleName(k.peftModulePath(3)));
        }
        assertEquals("blk.4.attn_output.weight", ProjectionKind.O.ggufTensorName(4));
        assertEquals("model.layers.2.mlp.gate_proj", ProjectionKind.GATE.peftModulePath(2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ProjectionKind.fromPeftModuleName("transformer.h.0.attn.c_attn"));
        assertTrue(e.getMessage().startsWith("module c_attn is not a Llama projection (GPT-2 adapter?)"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ProjectionKind.fromPeftModuleName("lm_head"));
        assertTrue(e.getMessage().contains("embedding/classifier adapters are not supported"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ProjectionKind.fromPeftModuleName(""));
    }

    @Test
    void modelShapeGivesProjectionDimensions() {
        ModelShape s = new ModelShape(ModelShape.LLAMA, 64, 172, 5, 8, 4, 512); // stories260K
        assertEquals(8, s.headDim());
        assertEquals(32, s.kvDim());
        assertEquals(64, s.outDim(ProjectionKind.Q));
        assertEquals(32, s.outDim(ProjectionKind.K));
        assertEquals(32, s.outDim(ProjectionKind.V));
        assertEquals(64, s.inDim(ProjectionKind.V));
        assertEquals(64, s.outDim(ProjectionKind.O));
        assertEquals(172, s.outDim(ProjectionKind.GATE));
        assertEquals(172, s.outDim(ProjectionKind.UP));
        assertEquals(64, s.outDim(ProjectionKind.DOWN));
        assertEquals(172, s.inDim(ProjectionKind.DOWN));
        assertEquals(768, ModelShape.stories110M().kvDim());
        assertThrows(IllegalArgumentException.class, () -> new ModelShape("llama", 64, 172, 5, 7, 7, 512));
        assertThrows(IllegalArgumentException.class, () -> new ModelShape("llama", 64, 172, 5, 8, 3, 512));
        assertThrows(IllegalArgumentException.class, () -> new ModelShape("llama", 0, 172, 5, 8, 4, 512));
    }

    @Test
    void targetsCheckTheirMatrixSizes() {
        Arena arena = Arena.ofAuto();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LoraTarget(0,
                ProjectionKind.Q, 2, 8, 8, 1f, arena.allocate(60), arena.allocate(64)));
        assertTrue(e.getMessage().contains("expected [2 x 8] F32 = 64"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LoraTarget(0, ProjectionKind.Q, 2, 8, 8, 1f,
                arena.allocate(64), arena.allocate(60)));
        assertThrows(IllegalArgumentException.class, () -> new LoraTarget(0, ProjectionKind.Q, 2, 8, 8, Float.NaN,
                arena.allocate(64), arena.allocate(64)));
        assertThrows(IllegalArgumentException.class, () -> new LoraTarget(-1, ProjectionKind.Q, 2, 8, 8, 1f,
                arena.allocate(64), arena.allocate(64)));
    }

    @Test
    void adapterIndexesTargetsAndRefusesDuplicates() {
        Random r = new Random(1);
        LoraTarget q1 = LoraTestData.target(r, 1, ProjectionKind.Q, 4, 8, 8, 1f);
        LoraTarget v0 = LoraTestData.target(r, 0, ProjectionKind.V, 2, 8, 8, 1f);
        LoraAdapter a = new LoraAdapter("a", ModelShape.LLAMA, List.of(q1, v0));
        assertEquals(List.of(v0, q1), a.targets());
        assertEquals(4, a.rankMax());
        assertEquals(q1.bytes() + v0.bytes(), a.bytes());
        assertEquals(q1, a.target(1, ProjectionKind.Q).orElseThrow());
        assertTrue(a.target(1, ProjectionKind.V).isEmpty());
        assertTrue(a.target(9, ProjectionKind.Q).isEmpty());
        LoraTarget q1again = LoraTestData.target(r, 1, ProjectionKind.Q, 4, 8, 8, 2f);
        AdapterValidationException e = assertThrows(AdapterValidationException.class,
                () -> new LoraAdapter("dup", ModelShape.LLAMA, List.of(q1, q1again)));
        assertTrue(e.getMessage().contains("two deltas for layer 1 q_proj"), e.getMessage());
        assertThrows(AdapterValidationException.class, () -> new LoraAdapter("none", ModelShape.LLAMA, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new WeightedAdapter(a, Float.POSITIVE_INFINITY));
    }
}
