package dev.loracle.runtime.cuda;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * Finds out once per JVM whether the CUDA driver API can be used: JCuda's JNI library loads (it links only
 * libcuda.so.1), cuInit succeeds and at least one device exists. A failed static initialiser cannot be retried in
 * the same JVM, so the first answer is kept.
 */
public final class CudaProbe {
    /** The answer: available, or the reason why not. */
    public record Result(boolean available, String reason, int deviceCount, int driverVersion) {
        /** Driver version as "major.minor" (CUDA API version the driver supports, e.g. 13.0). */
        public String driverVersionText() {
            return driverVersion <= 0 ? "unknown" : (driverVersion / 1000) + "." + (driverVersion % 1000) / 10;
        }
    }

    private static volatile Result cached;

    private CudaProbe() {}

    public static Result probe() {
        Result r = cached;
        if (r == null) {
            synchronized (CudaProbe.class) {
                r = cached;
                if (r == null) {
                    r = cached = run();
                }
            }
        }
        return r;
    }

    /** Throws {@link CudaUnavailableException} with the reason unless a device is usable. */
    public static Result require() {
        Result r = probe();
        if (!r.available()) throw new CudaUnavailableException(r.reason());
        return r;
    }

    /**
     * Operator check: {@code java -cp gpu-runtime.jar:jcuda*.jar dev.loracle.runtime.cuda.CudaProbe} prints whether the
     * CUDA backend can run here (device, driver, PTX ISA and the driver it needs) and exits 0 if so, 1 with the reason if not.
     */
    public static void main(String[] args) {
        Result r = probe();
        PtxModule ptx = PtxModule.load(PtxModule.MODULE_NAMES.getFirst());
        String need = "packaged PTX ISA " + ptx.isaMajor() + "." + ptx.isaMinor() + " needs NVIDIA driver >= "
                + ptx.minimumDriverBranch();
        if (!r.available()) {
            System.out.println("CUDA unavailable: " + r.reason() + " (" + need + ")");
            System.exit(1);
        }
        try (CudaDevice d = CudaDevice.open(0); PtxModules m = new PtxModules(d)) {
            System.out.println("CUDA available: " + d + ", driver CUDA " + r.driverVersionText() + ", " + r.deviceCount()
                    + " device(s); " + m.kernelNames().size() + " kernels loaded (" + need + ")");
        } catch (RuntimeException e) {
            System.out.println("CUDA unavailable: " + e.getMessage());
            System.exit(1);
        }
    }

    private static Result run() {
        try {
            Class.forName("jcuda.driver.JCudaDriver");
        } catch (ClassNotFoundException e) {
            return new Result(false, "JCuda (org.jcuda:jcuda) is not on the class path", 0, 0);
        } catch (LinkageError e) {
            return new Result(false, describeLinkError(e), 0, 0);
        }
        try {
            JCudaDriver.setExceptionsEnabled(false);
            int rc = JCudaDriver.cuInit(0);
            if (rc != CUresult.CUDA_SUCCESS) {
                return new Result(false, "cuInit failed: " + CUresult.stringFor(rc) + explainInit(rc), 0, 0);
            }
            int[] version = new int[1];
            JCudaDriver.cuDriverGetVersion(version);
            int[] count = new int[1];
            rc = JCudaDriver.cuDeviceGetCount(count);
            if (rc != CUresult.CUDA_SUCCESS) {
                return new Result(false, "cuDeviceGetCount failed: " + CUresult.stringFor(rc), 0, version[0]);
            }
            if (count[0] == 0) {
                return new Result(false, "the NVIDIA driver reports no CUDA device", 0, version[0]);
            }
            return new Result(true, "ok", count[0], version[0]);
        } catch (LinkageError e) {
            return new Result(false, describeLinkError(e), 0, 0);
        }
    }

    /** Turns JCuda's long multi-attempt message into one line that names the missing library. */
    static String describeLinkError(Throwable e) {
        String msg = String.valueOf(e.getMessage());
        for (String line : msg.split("\n")) {
            int i = line.indexOf("cannot open shared object file");
            if (i >= 0) {
                String lib = line.substring(0, i).replaceAll(":\\s*$", "");
                lib = lib.substring(lib.lastIndexOf(' ') + 1);
                if (lib.startsWith("libcuda.so")) {
                    return "NVIDIA driver library " + lib + " not found (no NVIDIA driver installed on this machine)";
                }
                return "native library " + lib + " not found";
            }
        }
        if (msg.contains("Error while loading native library")) {
            return "no JCuda native library for this platform (" + System.getProperty("os.name") + "/"
                    + System.getProperty("os.arch") + "; org.jcuda:jcuda-natives ships linux-x86_64 and windows-x86_64)";
        }
        return e.getClass().getSimpleName() + ": " + msg.lines().findFirst().orElse(msg);
    }

    private static String explainInit(int rc) {
        if (rc == CUresult.CUDA_ERROR_NO_DEVICE) return " (no CUDA-capable device is visible)";
        return "";
    }
}
