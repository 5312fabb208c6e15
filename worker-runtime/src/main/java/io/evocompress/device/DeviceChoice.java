package io.evocompress.device;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import io.evocompress.EvocompressException;

import java.util.Locale;

/**
 * Which device and compute dtype a task uses. {@code auto}: the GPU the scheduler assigned to the task
 * (Spark task resources), else GPU 0 if the engine sees one, else the CPU. The compute dtype
 * {@code auto} is float32 on the CPU and bfloat16 on a GPU.
 */
public final class DeviceChoice {
    private DeviceChoice() {
    }

    /**
     * @param spec        auto, cpu, gpu or gpu:N
     * @param assignedGpu the GPU address the scheduler gave this task, or null
     */
    public static Device resolve(String spec, Integer assignedGpu) {
        String s = spec == null ? "auto" : spec.toLowerCase(Locale.ROOT).trim();
        int gpus = Engine.getInstance().getGpuCount();
        if (s.equals("cpu")) {
            return Device.cpu();
        }
        if (s.equals("auto")) {
            if (gpus == 0) {
                return Device.cpu();
            }
            return Device.gpu(assignedGpu != null && assignedGpu < gpus ? assignedGpu : 0);
        }
        if (s.equals("gpu") || s.startsWith("gpu:")) {
            int index = s.equals("gpu") ? (assignedGpu == null ? 0 : assignedGpu) : parseIndex(s);
            if (index >= gpus) {
                throw new EvocompressException("device '" + spec + "' asks for GPU " + index + " but the PyTorch engine sees "
                    + gpus + " GPU(s). Use device: auto or cpu, or build with -Pcuda for the CUDA native library.");
            }
            return Device.gpu(index);
        }
        throw new EvocompressException("device must be auto, cpu, gpu or gpu:N, but was '" + spec + "'");
    }

    /**
     * Whether {@code spec} is a device spelling {@link #resolve} knows (auto, cpu, gpu, gpu:N), without
     * asking the engine which devices exist: what a driver checks before starting any task.
     */
    public static boolean isValidSpec(String spec) {
        return spec != null && spec.toLowerCase(Locale.ROOT).trim().matches("auto|cpu|gpu(:\\d{1,4})?");
    }

    /** Whether {@code spec} is a dtype spelling {@link #dtype} knows. */
    public static boolean isValidDtypeSpec(String spec) {
        return spec != null && spec.toLowerCase(Locale.ROOT).trim()
            .matches("auto|float32|fp32|f32|float16|fp16|f16|bfloat16|bf16");
    }

    private static int parseIndex(String s) {
        try {
            return Integer.parseInt(s.substring(4));
        } catch (NumberFormatException e) {
            throw new EvocompressException("device 'gpu:N' needs an integer N, but was '" + s + "'");
        }
    }

    /** auto, float32, float16 or bfloat16 (float16/bfloat16 only on a GPU). */
    public static DataType dtype(String spec, Device device) {
        String s = spec == null ? "auto" : spec.toLowerCase(Locale.ROOT).trim();
        boolean gpu = device.isGpu();
        DataType t = switch (s) {
            case "auto" -> gpu ? DataType.BFLOAT16 : DataType.FLOAT32;
            case "float32", "fp32", "f32" -> DataType.FLOAT32;
            case "float16", "fp16", "f16" -> DataType.FLOAT16;
            case "bfloat16", "bf16" -> DataType.BFLOAT16;
            default -> throw new EvocompressException("dtype must be auto, float32, float16 or bfloat16, but was '" + spec + "'");
        };
        if (!gpu && t != DataType.FLOAT32) {
            throw new EvocompressException("dtype " + spec + " needs a GPU; on the CPU the forward runs in float32 (use --dtype auto or float32).");
        }
        return t;
    }
}
