package dev.loracle.runtime.cuda;

import dev.loracle.runtime.cuda.PtxModule.ParamType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The packaged PTX as the backend will read it from the class path: present, parseable, with every kernel. */
class PtxModuleTest {
    static final Set<String> EXPECTED_KERNELS = Set.of(
            "mm_q8_0p", "mm_q4_0p", "mm_f32", "mm_f16", "mm_swiglu_q8_0p", "mm_swiglu_q4_0p", "mm_swiglu_f32", "mm_swiglu_f16",
            "embed_q8_0p", "embed_q4_0p", "embed_f32", "embed_f16", "rmsnorm_rows", "rope_kv_store_f32", "rope_kv_store_int8",
            "rope_kv_store_f16", "attention_paged_f32", "attention_paged_int8", "attention_paged_f16", "attention_combine", "add_f32", "swiglu_rows", "add_bias_rows",
            "gather_rows", "argmax_rows", "lora_shrink", "lora_expand", "lora_merge_q8_0p", "lora_merge_q4_0p",
            "lora_merge_f32", "lora_merge_f16", "copy_words");

    @Test
    void everyModuleLoadsFromTheClassPathWithItsEntryPoints() {
        Set<String> all = new TreeSet<>();
        for (PtxModule m : PtxModule.loadAll()) {
            assertTrue(m.text().contains(".target sm_80"), m.name() + " targets compute_80");
            assertNotNull(m.sourceSha256(), m.name() + " carries the source digest stamp");
            for (String e : m.entries().keySet()) assertTrue(all.add(e), "entry " + e + " defined twice");
        }
        assertEquals(new TreeSet<>(EXPECTED_KERNELS), all);
    }

    @Test
    void isaVersionGivesTheMinimumDriver() {
        for (PtxModule m : PtxModule.loadAll()) {
            // Checked-in PTX comes from nvcc 13.0 (ISA 9.0) -> driver r580; the README states this figure.
            assertEquals(9, m.isaMajor(), m.name());
            assertEquals(580, m.minimumDriverBranch(), m.name());
        }
        assertEquals(535, PtxModule.parse("x", ".version 8.2\n.entry k(\n.param .u32 k_param_0\n)\n{}").minimumDriverBranch());
    }

    @Test
    void parsesParameterWidths() {
        Map<String, List<ParamType>> e = PtxModule.load("packed").entries();
        assertEquals(List.of(ParamType.U64, ParamType.U64, ParamType.U64, ParamType.U64, ParamType.U32, ParamType.U32,
                ParamType.U32, ParamType.U32), e.get("mm_q8_0p"));
        assertEquals(List.of(ParamType.U64, ParamType.U32, ParamType.U64, ParamType.U32, ParamType.U32, ParamType.U64,
                ParamType.U64, ParamType.U64, ParamType.U64), PtxModule.load("lora").entries().get("lora_expand"));
        assertEquals(List.of(ParamType.U64, ParamType.U32, ParamType.U32, ParamType.U32, ParamType.U32, ParamType.U64,
                ParamType.U64, ParamType.U32, ParamType.U64, ParamType.U32, ParamType.U64, ParamType.U64, ParamType.U64),
                PtxModule.load("rope").entries().get("rope_kv_store_int8"));
    }

    @Test
    void malformedPtxIsAClearError() {
        IllegalArgumentException noVersion = assertThrows(IllegalArgumentException.class, () -> PtxModule.parse("bad", "hello"));
        assertTrue(noVersion.getMessage().contains("no .version"), noVersion.getMessage());
        IllegalArgumentException noEntry = assertThrows(IllegalArgumentException.class,
                () -> PtxModule.parse("bad", ".version 9.0\n.target sm_80\n"));
        assertTrue(noEntry.getMessage().contains("no .entry"), noEntry.getMessage());
        assertThrows(IllegalStateException.class, () -> PtxModule.load("does_not_exist"));
    }

    @Test
    void imageIsNulTerminated() {
        byte[] img = PtxModule.load("rope").imageBytes();
        assertEquals(0, img[img.length - 1]);
    }
}
