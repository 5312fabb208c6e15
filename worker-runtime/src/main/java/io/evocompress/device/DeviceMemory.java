package io.evocompress.device;

import ai.djl.Device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Free memory of a device, for deciding whether a model fits on it: a GPU's free memory as CUDA reports
 * it; on the CPU, where the engine allocates the weights in native memory outside the Java heap, the
 * host's available memory ({@code MemAvailable} of /proc/meminfo, else the free physical memory the JVM
 * reports) less the Java heap's maximum, since the heap may grow to it.
 */
public final class DeviceMemory {
    private DeviceMemory() {
    }

    public static long free(Device device) {
        if (device.isGpu()) {
            java.lang.management.MemoryUsage usage = ai.djl.util.cuda.CudaUtils.getGpuMemory(device);
            return usage.getMax() - usage.getUsed();
        }
        long available = memAvailable();
        if (available <= 0) {
            var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            available = os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getFreeMemorySize() : 0;
        }
        Runtime rt = Runtime.getRuntime();
        long heapStillToGrow = Math.max(0, rt.maxMemory() - rt.totalMemory());
        return Math.max(0, available - heapStillToGrow);
    }

    private static long memAvailable() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/meminfo"));
            for (String line : lines) {
                if (line.startsWith("MemAvailable:")) {
                    String[] parts = line.trim().split("\\s+");
                    return Long.parseLong(parts[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }
}
