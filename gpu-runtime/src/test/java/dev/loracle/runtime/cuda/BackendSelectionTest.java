package dev.loracle.runtime.cuda;

import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.model.TestModels;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Backend selection on this machine. The fallback tests need a machine WITHOUT a usable CUDA device (like CI here)
 * and skip, saying so, where one exists; the decision logic itself is also tested with a synthetic probe.
 */
class BackendSelectionTest {
    private static final CudaProbe.Result GPU = new CudaProbe.Result(true, "ok", 1, 13000);
    private static final CudaProbe.Result NO_DRIVER = new CudaProbe.Result(false,
            "NVIDIA driver library libcuda.so.1 not found (no NVIDIA driver installed on this machine)", 0, 0);

    @Test
    void autoFallsBackToCpuHereAndLogsWhy() {
        CudaProbe.Result probe = CudaProbe.probe();
        assumeFalse(probe.available(), "a CUDA device is present on this machine: the CPU fallback cannot be observed");
        List<LogRecord> records = new ArrayList<>();
        Logger jul = Logger.getLogger(Backends.class.getName());
        Handler h = new Handler() {
            @Override public void publish(LogRecord r) { records.add(r); }
            @Override public void flush() {}
            @Override public void close() {}
        };
        jul.addHandler(h);
        try {
            Backends.Selection s = Backends.select(BackendKind.AUTO);
            assertEquals(BackendKind.CPU, s.kind());
            assertTrue(s.reason().contains(probe.reason()), s.reason());
        } finally {
            jul.removeHandler(h);
        }
        assertTrue(records.stream().anyMatch(r -> r.getMessage().contains("using CPU because " + probe.reason())),
                "the fallback is logged with its reason: " + records.stream().map(LogRecord::getMessage).toList());
    }

    @Test
    void cudaFailsClearlyHere() {
        CudaProbe.Result probe = CudaProbe.probe();
        assumeFalse(probe.available(), "a CUDA device is present on this machine");
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> Backends.select(BackendKind.CUDA));
        assertTrue(e.getMessage().startsWith("CUDA backend unavailable: " + probe.reason()), e.getMessage());
        assertTrue(e.getMessage().contains("backend auto"), "the message points at the fallback: " + e.getMessage());
        CudaUnavailableException open = assertThrows(CudaUnavailableException.class, () -> CudaDevice.open(0));
        assertEquals(probe.reason(), open.reason());
    }

    /** The engine finds CudaBackendProvider through META-INF/services and reports its reason. */
    @Test
    void engineWithBackendCudaFailsWithTheProbeReasonAndAutoRunsOnCpu() {
        CudaProbe.Result probe = CudaProbe.probe();
        assumeFalse(probe.available(), "a CUDA device is present on this machine");
        EngineConfig cfg = EngineConfig.of(TestModels.stories260kBin()).withTokenizer(TestModels.tok512()).withThreads(1);
        RuntimeException e = assertThrows(RuntimeException.class, () -> InferenceEngine.open(cfg.withBackend(BackendKind.CUDA)).close());
        assertTrue(e.getMessage().contains(probe.reason()), e.getMessage());
        try (InferenceEngine auto = InferenceEngine.open(cfg.withBackend(BackendKind.AUTO))) {
            assertEquals("cpu", auto.backendName());
        }
    }

    @Test
    void decisionLogic() {
        assertEquals(BackendKind.CUDA, Backends.select(BackendKind.AUTO, GPU).kind());
        assertEquals(BackendKind.CUDA, Backends.select(BackendKind.CUDA, GPU).kind());
        assertEquals(BackendKind.CPU, Backends.select(BackendKind.CPU, GPU).kind(), "cpu is honoured even with a GPU");
        assertEquals(BackendKind.CPU, Backends.select(BackendKind.AUTO, NO_DRIVER).kind());
        assertThrows(CudaUnavailableException.class, () -> Backends.select(BackendKind.CUDA, NO_DRIVER));
        assertEquals("13.0", GPU.driverVersionText());
    }

    @Test
    void linkErrorsBecomeOneLineReasons() {
        String jcuda = "Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\"\n"
                + "Stack trace from the attempt to load the library as a resource:\n"
                + "java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file: No such file or directory\n";
        assertEquals("NVIDIA driver library libcuda.so.1 not found (no NVIDIA driver installed on this machine)",
                CudaProbe.describeLinkError(new UnsatisfiedLinkError(jcuda)));
        String noNatives = "Error while loading native library \"JCudaDriver-12.6.0-apple-aarch64\"\nno resource";
        assertTrue(CudaProbe.describeLinkError(new UnsatisfiedLinkError(noNatives)).startsWith("no JCuda native library for this platform"));
        String other = "/tmp/libJCudaDriver.so: libstdc++.so.6: cannot open shared object file: No such file or directory";
        assertEquals("native library libstdc++.so.6 not found", CudaProbe.describeLinkError(new UnsatisfiedLinkError(other)));
    }
}
