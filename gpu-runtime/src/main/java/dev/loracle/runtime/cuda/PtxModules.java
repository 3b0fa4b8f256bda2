package dev.loracle.runtime.cuda;

import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Loads the packaged PTX into the device's context with cuModuleLoadData (the driver JIT-compiles it for the GPU at
 * hand, so one jar runs on every architecture from compute 8.0 up) and launches kernels by entry name. Arguments are
 * checked against the PTX parameter list the first time each kernel is launched.
 */
public final class PtxModules implements KernelLauncher, AutoCloseable {
    private final CudaDevice device;
    private final List<CUmodule> modules = new ArrayList<>();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Map<String, List<PtxModule.ParamType>> params = new HashMap<>();
    private final Set<String> checked = ConcurrentHashMap.newKeySet();

    public PtxModules(CudaDevice device) {
        this.device = device;
        device.makeCurrent();
        CudaProbe.Result probe = CudaProbe.probe();
        for (PtxModule ptx : PtxModule.loadAll()) {
            CUmodule m = new CUmodule();
            int rc = JCudaDriver.cuModuleLoadData(m, ptx.imageBytes());
            if (rc != CUresult.CUDA_SUCCESS) {
                close();
                throw new CudaUnavailableException("cuModuleLoadData(" + ptx.name() + ".ptx) failed: " + CUresult.stringFor(rc)
                        + "; the PTX is ISA " + ptx.isaMajor() + "." + ptx.isaMinor() + " and needs NVIDIA driver >= "
                        + ptx.minimumDriverBranch() + " (this driver supports CUDA " + probe.driverVersionText() + ")");
            }
            modules.add(m);
            for (var e : ptx.entries().entrySet()) {
                CUfunction f = new CUfunction();
                CudaDevice.check(JCudaDriver.cuModuleGetFunction(f, m, e.getKey()), "cuModuleGetFunction(" + e.getKey() + ")");
                functions.put(e.getKey(), f);
                params.put(e.getKey(), e.getValue());
            }
        }
    }

    public Set<String> kernelNames() { return Set.copyOf(functions.keySet()); }

    @Override
    public void launch(String kernel, LaunchConfig c, KernelArgs args) {
        CUfunction f = functions.get(kernel);
        if (f == null) throw new IllegalArgumentException("no kernel named " + kernel + " in the loaded PTX");
        if (!checked.contains(kernel)) {
            args.checkAgainst(kernel, params.get(kernel));
            checked.add(kernel);
        }
        NativePointerObject[] packed = new NativePointerObject[args.args().size()];
        int i = 0;
        for (KernelArgs.Arg a : args.args()) {
            packed[i++] = switch (a.value()) {
                case DevicePtr p -> Pointer.to(JCudaPtr.of(p));
                case Integer v -> Pointer.to(new int[] {v});
                case Long v -> Pointer.to(new long[] {v});
                case Float v -> Pointer.to(new float[] {v});
                default -> throw new IllegalArgumentException("cannot pack " + a.value().getClass());
            };
        }
        // no cuCtxSetCurrent here: the model makes the context current once per step / attach on its thread
        CudaDevice.check(JCudaDriver.cuLaunchKernel(f, c.gridX(), c.gridY(), c.gridZ(), c.blockX(), c.blockY(), c.blockZ(),
                c.sharedBytes(), device.stream(), Pointer.to(packed), null), "cuLaunchKernel(" + kernel + ")");
    }

    @Override
    public void close() {
        for (CUmodule m : modules) JCudaDriver.cuModuleUnload(m);
        modules.clear();
        functions.clear();
    }
}
