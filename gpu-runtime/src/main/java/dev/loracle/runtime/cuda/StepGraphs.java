package dev.loracle.runtime.cuda;

import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUresult;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * CUDA graphs of whole steps. A step's launch sequence (recorded by {@link StepLauncher}) is keyed by every kernel,
 * shape and argument value; tokens, positions, block tables and segment tables live in device memory, so a steady
 * decode (same rows, same adapter bindings) issues the identical sequence step after step. When a step repeats the
 * previous step's sequence it is captured into a graph; from then on that step is ONE cuGraphLaunch instead of ~250
 * launches (one-off shapes, e.g. prefill chunks, are never captured). Graphs are
 * kept LRU ({@value #MAX_GRAPHS}). A capture or instantiate failure disables graphs and replays launch by launch, so
 * results never depend on whether a graph ran. {@code -Dloracle.cuda.graphs=false} turns them off.
 */
final class StepGraphs implements AutoCloseable {
    static final int MAX_GRAPHS = 32;
    private static final System.Logger LOG = System.getLogger(StepGraphs.class.getName());

    private final CudaDevice device;
    private final PtxModules modules;
    private List<Object> previous;
    private final LinkedHashMap<List<Object>, CUgraphExec> graphs = new LinkedHashMap<>(16, 0.75f, true);
    private boolean disabled;
    private long replays, captures;

    private StepGraphs(CudaDevice device, PtxModules modules) {
        this.device = device;
        this.modules = modules;
    }

    /** Graphs for a real device; null on other runtimes (the host emulation) or when switched off. */
    static StepGraphs forLauncher(DeviceRuntime device, KernelLauncher launcher) {
        if (!Boolean.parseBoolean(System.getProperty("loracle.cuda.graphs", "true"))) return null;
        if (device instanceof CudaDevice d && launcher instanceof PtxModules m) return new StepGraphs(d, m);
        return null;
    }

    /** Runs the recorded launches: from a graph when this exact sequence ran before, else one by one. */
    void run(List<StepLauncher.Launch> launches) {
        List<Object> key = key(launches);
        CUgraphExec exec = disabled ? null : graphs.get(key);
        if (exec == null && !disabled && key.equals(previous)) exec = capture(key, launches);
        previous = key;
        if (exec == null) {
            for (StepLauncher.Launch l : launches) modules.launch(l.kernel(), l.config(), l.args());
            return;
        }
        CudaDevice.check(JCudaDriver.cuGraphLaunch(exec, device.stream()), "cuGraphLaunch");
        replays++;
    }

    private CUgraphExec capture(List<Object> key, List<StepLauncher.Launch> launches) {
        CUgraph graph = new CUgraph();
        CUgraphExec exec = new CUgraphExec();
        int rc = JCudaDriver.cuStreamBeginCapture(device.stream(), CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
        if (rc != CUresult.CUDA_SUCCESS) return giveUp("cuStreamBeginCapture", rc);
        RuntimeException failed = null;
        try {
            for (StepLauncher.Launch l : launches) modules.launch(l.kernel(), l.config(), l.args());
        } catch (RuntimeException e) {
            failed = e;
        }
        rc = JCudaDriver.cuStreamEndCapture(device.stream(), graph);
        if (failed != null || rc != CUresult.CUDA_SUCCESS) {
            return giveUp("stream capture" + (failed != null ? " (" + failed.getMessage() + ")" : ""), rc);
        }
        rc = JCudaDriver.cuGraphInstantiate(exec, graph, 0L);
        JCudaDriver.cuGraphDestroy(graph);
        if (rc != CUresult.CUDA_SUCCESS) return giveUp("cuGraphInstantiate", rc);
        graphs.put(key, exec);
        captures++;
        if (graphs.size() > MAX_GRAPHS) {
            var eldest = graphs.entrySet().iterator().next();
            JCudaDriver.cuGraphExecDestroy(eldest.getValue());
            graphs.remove(eldest.getKey());
        }
        return exec;
    }

    private CUgraphExec giveUp(String what, int rc) {
        disabled = true;
        LOG.log(System.Logger.Level.WARNING, "CUDA graphs disabled: " + what + " returned " + CUresult.stringFor(rc)
                + "; steps run launch by launch");
        return null;
    }

    /** Every kernel name, launch shape and argument value (device pointers by address) in order. */
    private static List<Object> key(List<StepLauncher.Launch> launches) {
        List<Object> k = new ArrayList<>(launches.size() * 12);
        for (StepLauncher.Launch l : launches) {
            k.add(l.kernel());
            k.add(l.config());
            for (KernelArgs.Arg a : l.args().args()) k.add(a.value() instanceof DevicePtr p ? (Object) p.address() : a.value());
        }
        return k;
    }

    String stats() { return "graphs " + graphs.size() + ", captures " + captures + ", replays " + replays + (disabled ? " (disabled)" : ""); }

    @Override
    public void close() {
        graphs.values().forEach(JCudaDriver::cuGraphExecDestroy);
        graphs.clear();
        previous = null;
    }
}
