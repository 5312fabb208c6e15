package io.evocompress.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The project's packed 4-bit checkpoint layout ({@code quantization_config.quant_method =
 * "evocompress-int4"} in config.json). A quantized linear layer {@code L} with weight [rows = out,
 * cols = in] is stored, instead of {@code L.weight}, as three tensors:
 * <ul>
 *   <li>{@code L.qweight}: I32 [rows, ceil(cols / 8)]; the 4-bit code of weight (r, c) is bits
 *       4 * (c % 8) .. 4 * (c % 8) + 3 of element (r, c / 8) (low nibble first, padding codes 0);</li>
 *   <li>{@code L.scales}: F16 [rows, groups], one scale per output row and group of g consecutive input
 *       columns, g = min(quantization_config.group_size, cols), groups = ceil(cols / g);</li>
 *   <li>{@code L.qzeros}: U8 [rows, groups], the integer zero point in [0, 15].</li>
 * </ul>
 * Weight (r, c) = scale[r, c / g] * (code(r, c) - zero[r, c / g]) in float32, exactly the arithmetic of
 * the variant database's quantized variants (whose scales are fp16 too), so a loaded checkpoint gives
 * the weights the search and the scheduler scored. Pruned weights carry their group's zero point and
 * load as exact zeros. Chosen over AutoGPTQ's [in / 8, out] layout because rows stay contiguous (one
 * row's codes, scales and zeros are read together), and the format is self-describing in config.json.
 * {@code quantization_config.modules} lists the packed layers.
 */
public final class PackedInt4 implements PackedWeights {
    public static final String QUANT_METHOD = "evocompress-int4";
    public static final String QWEIGHT = ".qweight";
    public static final String SCALES = ".scales";
    public static final String QZEROS = ".qzeros";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final CheckpointReader checkpoint;
    private final int groupSize;
    private final java.util.Set<String> modules;

    private PackedInt4(CheckpointReader checkpoint, int groupSize, java.util.Set<String> modules) {
        this.checkpoint = checkpoint;
        this.groupSize = groupSize;
        this.modules = modules;
    }

    /** The packed layers of a checkpoint, or null when its config.json declares none. */
    public static PackedInt4 of(CheckpointReader checkpoint) {
        JsonNode q;
        try {
            q = JSON.readTree(checkpoint.configJson()).path("quantization_config");
        } catch (IOException e) {
            throw new EvocompressException(checkpoint.dir() + "/config.json is not valid JSON: " + e.getMessage());
        }
        if (q.isMissingNode() || q.isNull()) {
            return null;
        }
        String method = q.path("quant_method").asText("");
        if (!method.equals(QUANT_METHOD)) {
            throw new EvocompressException(checkpoint.dir() + "/config.json declares quantization_config.quant_method '"
                + method + "', which this loader does not read (it reads " + PackQuantized.QUANT_METHOD + " "
                + PackQuantized.FORMAT + " and " + QUANT_METHOD + "): export the model dense.");
        }
        if (q.path("bits").asInt() != 4 || q.path("group_size").asInt() < 1) {
            throw new EvocompressException(checkpoint.dir() + "/config.json: quantization_config must have bits 4 and a "
                + "positive group_size, but was " + q);
        }
        java.util.Set<String> modules = new java.util.HashSet<>();
        q.path("modules").forEach(m -> modules.add(m.asText()));
        return new PackedInt4(checkpoint, q.path("group_size").asInt(), modules);
    }

    /** The config.json {@code quantization_config} for layers packed with {@code groupSize}. */
    public static ObjectNode quantizationConfig(int groupSize, List<String> modules) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("quant_method", QUANT_METHOD);
        n.put("bits", 4);
        n.put("group_size", groupSize);
        n.put("sym", false);
        n.put("layout", "qweight I32 [out, ceil(in/8)] low nibble first; scales F16 [out, groups]; qzeros U8 [out, groups]");
        n.putArray("modules").addAll(modules.stream().map(JsonNodeFactory.instance::textNode).toList());
        return n;
    }

    /** Whether weight tensor {@code weightName} (e.g. {@code model.layers.0.mlp.up_proj.weight}) is stored packed. */
    @Override
    public boolean covers(String weightName) {
        return weightName.endsWith(".weight") && modules.contains(module(weightName));
    }

    /** The dequantized weight [rows, cols], row-major; errors name the file and the tensor. */
    @Override
    public float[] dequantize(String weightName, int rows, int cols) {
        String layer = module(weightName);
        int g = Math.min(groupSize, cols);
        int groups = (cols + g - 1) / g;
        int words = (cols + 7) / 8;
        long[] codes = read(layer + QWEIGHT, DType.I32, new long[] {rows, words});
        long[] zeros = read(layer + QZEROS, DType.U8, new long[] {rows, groups});
        TensorInfo scaleInfo = info(layer + SCALES, DType.F16, new long[] {rows, groups});
        float[] scales = checkpoint.file(layer + SCALES).readFloat(scaleInfo);
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int code = (int) ((codes[r * words + c / 8] >>> (4 * (c % 8))) & 0xF);
                int p = r * groups + c / g;
                w[r * cols + c] = scales[p] * (code - (int) zeros[p]);
            }
        }
        return w;
    }

    private long[] read(String name, DType type, long[] shape) {
        return checkpoint.file(name).readLongs(info(name, type, shape));
    }

    private TensorInfo info(String name, DType type, long[] shape) {
        if (!checkpoint.has(name)) {
            throw new EvocompressException("Checkpoint " + checkpoint.dir() + " declares " + module(name + ".weight")
                + " packed (" + QUANT_METHOD + ") but has no tensor '" + name + "'.");
        }
        TensorInfo info = checkpoint.info(name);
        if (info.dtype() != type || !java.util.Arrays.equals(info.shape(), shape)) {
            throw new EvocompressException(checkpoint.file(name).path() + ": tensor '" + name + "' is " + info.dtype() + " "
                + info.shapeString() + ", but " + QUANT_METHOD + " needs " + type + " " + java.util.Arrays.toString(shape) + ".");
        }
        return info;
    }

    private static String module(String weightName) {
        return weightName.substring(0, weightName.length() - ".weight".length());
    }

    /**
     * The three tensors of one packed layer. {@code codes} row-major [rows, cols] in [0, 15];
     * {@code scales} and {@code zeros} [rows, groups] with groups of {@code groupSize} (already clamped to cols).
     */
    public static List<CheckpointWriter.Tensor> tensors(String layer, int rows, int cols, int groupSize, int[] codes,
                                                        float[] scales, int[] zeros) {
        int groups = (cols + groupSize - 1) / groupSize;
        int words = (cols + 7) / 8;
        if (codes.length != rows * cols || scales.length != rows * groups || zeros.length != rows * groups) {
            throw new IllegalArgumentException("Packed layer " + layer + " arrays do not match " + rows + "x" + cols + " in "
                + groups + " groups");
        }
        return List.of(
            CheckpointWriter.Tensor.raw(layer + QWEIGHT, new long[] {rows, words}, DType.I32, () -> {
                ByteBuffer b = ByteBuffer.allocate(rows * words * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (int r = 0; r < rows; r++) {
                    for (int w = 0; w < words; w++) {
                        int word = 0;
                        for (int k = 0; k < 8 && w * 8 + k < cols; k++) {
                            int code = codes[r * cols + w * 8 + k];
                            if (code < 0 || code > 15) {
                                throw new IllegalArgumentException("Layer " + layer + " has a code " + code + " outside 4 bits");
                            }
                            word |= code << (4 * k);
                        }
                        b.putInt(word);
                    }
                }
                return b.array();
            }),
            CheckpointWriter.Tensor.raw(layer + SCALES, new long[] {rows, groups}, DType.F16, () -> {
                ByteBuffer b = ByteBuffer.allocate(scales.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                for (float s : scales) {
                    b.putShort(Float16.floatToF16(s));
                }
                return b.array();
            }),
            CheckpointWriter.Tensor.raw(layer + QZEROS, new long[] {rows, groups}, DType.U8, () -> {
                byte[] b = new byte[zeros.length];
                for (int i = 0; i < zeros.length; i++) {
                    b[i] = (byte) zeros[i];
                }
                return b;
            }));
    }
}
