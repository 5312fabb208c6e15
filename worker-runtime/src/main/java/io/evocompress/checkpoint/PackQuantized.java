package io.evocompress.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The compressed-tensors {@code pack-quantized} checkpoint format (config.json
 * {@code quantization_config.quant_method = "compressed-tensors"}, {@code format = "pack-quantized"}),
 * the layout vLLM and transformers load for weight-only integer quantization. A quantized linear
 * {@code L} with weight [out, in] and b bits (2..8) is stored, instead of {@code L.weight}, as:
 * <ul>
 *   <li>{@code L.weight_packed}: I32 [out, ceil(in / (32 / b))]: each row's codes, 32 / b to a word,
 *       code j in word j / (32 / b) at bits (j % (32 / b)) * b upwards; the stored value is the signed
 *       code plus 2^(b-1), which is this project's unsigned code u in [0, 2^b - 1]; padding bits 0.
 *       For b = 2, 4, 8 this is one little-endian bit stream per row; for 3, 5, 6, 7 a word's top
 *       32 mod b bits are padding (compressed-tensors' {@code pack_to_int32}: codes never straddle words);</li>
 *   <li>{@code L.weight_scale}: the model's float dtype, [out, groups] ({@code strategy: group},
 *       groups = ceil(in / group_size)) or [out, 1] ({@code channel});</li>
 *   <li>{@code L.weight_zero_point} (asymmetric only): I32 [ceil(out / (32 / b)), groups], the unsigned
 *       zero points packed the same way along the output rows (dimension 0). Symmetric layers have
 *       none: their zero point is 2^(b-1) unsigned (0 signed);</li>
 *   <li>{@code L.weight_shape}: I64 [2] = [out, in].</li>
 * </ul>
 * Weight (r, c) = scale[r, c / g] * (u(r, c) - zero[r, c / g]) in float32, the arithmetic of the
 * variant database and of {@code compress}, so a loaded checkpoint gives the weights that were scored.
 * config.json lists one {@code config_groups} entry per distinct scheme (bits, symmetric, strategy,
 * group size) with the exact module names as {@code targets}; {@code ignore} names lm_head and every
 * linear layer left dense. The reader also accepts targets {@code Linear} and {@code re:} patterns
 * (as llm-compressor writes them) and refuses what it cannot dequantize (activation quantization,
 * float types, g_idx act-order) with a message naming config.json.
 */
public final class PackQuantized implements PackedWeights {
    public static final String QUANT_METHOD = "compressed-tensors";
    public static final String FORMAT = "pack-quantized";
    public static final String PACKED = ".weight_packed";
    public static final String SCALE = ".weight_scale";
    public static final String ZERO_POINT = ".weight_zero_point";
    public static final String SHAPE = ".weight_shape";
    /** The group sizes vLLM's kernels take (besides one group per row). */
    public static final Set<Integer> VLLM_GROUPS = Set.of(32, 64, 128);
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One layer's weight scheme.
     *
     * @param groupSize input columns per scale, or 0 for one scale per output row ({@code strategy: channel})
     */
    public record Scheme(int bits, boolean symmetric, int groupSize) {
        public Scheme {
            if (bits < 2 || bits > 8) {
                throw new IllegalArgumentException("pack-quantized bits must be in 2..8, but was " + bits);
            }
            if (groupSize < 0) {
                throw new IllegalArgumentException("group size must be 0 (channel) or positive, but was " + groupSize);
            }
        }

        public String strategy() {
            return groupSize == 0 ? "channel" : "group";
        }

        public int groups(int cols) {
            return groupSize == 0 ? 1 : (cols + groupSize - 1) / groupSize;
        }

        ObjectNode weightsJson() {
            ObjectNode w = JsonNodeFactory.instance.objectNode();
            w.put("num_bits", bits);
            w.put("type", "int");
            w.put("symmetric", symmetric);
            w.put("strategy", strategy());
            if (groupSize == 0) {
                w.putNull("group_size");
            } else {
                w.put("group_size", groupSize);
            }
            w.putNull("actorder");
            w.put("dynamic", false);
            return w;
        }
    }

    /** Codes per 32-bit word at {@code bits} bits. */
    public static int perWord(int bits) {
        return 32 / bits;
    }

    /** Words that hold {@code n} codes of {@code bits} bits. */
    public static int words(int n, int bits) {
        int per = perWord(bits);
        return (n + per - 1) / per;
    }

    /** Packs row-major [rows, cols] unsigned codes along each row: [rows, words(cols, bits)]. */
    public static int[] packRows(int[] codes, int rows, int cols, int bits) {
        check(codes, rows, cols, bits);
        int per = perWord(bits);
        int w = words(cols, bits);
        int[] out = new int[rows * w];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r * w + c / per] |= codes[r * cols + c] << (bits * (c % per));
            }
        }
        return out;
    }

    /** The inverse of {@link #packRows}. */
    public static int[] unpackRows(int[] packed, int rows, int cols, int bits) {
        int per = perWord(bits);
        int w = words(cols, bits);
        int mask = (1 << bits) - 1;
        int[] out = new int[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = (packed[r * w + c / per] >>> (bits * (c % per))) & mask;
            }
        }
        return out;
    }

    /** Packs row-major [rows, cols] unsigned values along dimension 0: [words(rows, bits), cols]. */
    public static int[] packColumns(int[] values, int rows, int cols, int bits) {
        check(values, rows, cols, bits);
        int per = perWord(bits);
        int[] out = new int[words(rows, bits) * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[(r / per) * cols + c] |= values[r * cols + c] << (bits * (r % per));
            }
        }
        return out;
    }

    /** The inverse of {@link #packColumns}. */
    public static int[] unpackColumns(int[] packed, int rows, int cols, int bits) {
        int per = perWord(bits);
        int mask = (1 << bits) - 1;
        int[] out = new int[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = (packed[(r / per) * cols + c] >>> (bits * (r % per))) & mask;
            }
        }
        return out;
    }

    private static void check(int[] values, int rows, int cols, int bits) {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("pack-quantized bits must be in 2..8, but was " + bits);
        }
        if (values.length != (long) rows * cols) {
            throw new IllegalArgumentException(values.length + " values do not make " + rows + "x" + cols);
        }
        for (int v : values) {
            if (v < 0 || v >> bits != 0) {
                throw new IllegalArgumentException("value " + v + " does not fit " + bits + " unsigned bits");
            }
        }
    }

    /** One packed layer's arrays: codes row-major [rows, cols] unsigned; scales and zeros [rows, groups]. */
    public record Arrays3(int[] codes, float[] scales, int[] zeros) {
    }

    /**
     * The tensors of one packed layer. {@code codes} row-major [rows, cols] unsigned; {@code scales}
     * and {@code zeros} [rows, scheme.groups(cols)]; zeros are ignored (and must be 2^(b-1)) when
     * symmetric. The scale is written in the checkpoint's float dtype.
     */
    public static List<CheckpointWriter.Tensor> tensors(String layer, int rows, int cols, Scheme scheme, int[] codes,
                                                        float[] scales, int[] zeros) {
        Arrays3 a = new Arrays3(codes, scales, zeros);
        return tensors(layer, rows, cols, scheme, () -> a);
    }

    /**
     * As above with the arrays produced when the first of the layer's tensors is written (and kept
     * until its last is), so a large model's codes are never all held at once.
     */
    public static List<CheckpointWriter.Tensor> tensors(String layer, int rows, int cols, Scheme scheme,
                                                        java.util.function.Supplier<Arrays3> source) {
        int groups = scheme.groups(cols);
        int bits = scheme.bits();
        Arrays3[] held = new Arrays3[1];
        java.util.function.Supplier<Arrays3> arrays = () -> {
            if (held[0] == null) {
                Arrays3 a = source.get();
                if (a.codes().length != (long) rows * cols || a.scales().length != (long) rows * groups
                    || a.zeros().length != (long) rows * groups) {
                    throw new IllegalArgumentException("Packed layer " + layer + " arrays do not match " + rows + "x" + cols
                        + " in " + groups + " groups");
                }
                if (scheme.symmetric()) {
                    for (int z : a.zeros()) {
                        if (z != 1 << (bits - 1)) {
                            throw new IllegalArgumentException("Layer " + layer + " is symmetric but has zero point " + z);
                        }
                    }
                }
                held[0] = a;
            }
            return held[0];
        };
        int words = words(cols, bits);
        List<CheckpointWriter.Tensor> out = new ArrayList<>();
        out.add(CheckpointWriter.Tensor.raw(layer + PACKED, new long[] {rows, words}, DType.I32,
            () -> ints(packRows(arrays.get().codes(), rows, cols, bits))));
        boolean last = scheme.symmetric();
        out.add(new CheckpointWriter.Tensor(layer + SCALE, new long[] {rows, groups}, () -> {
            float[] s = arrays.get().scales().clone();
            if (last) {
                held[0] = null;
            }
            return s;
        }));
        if (!scheme.symmetric()) {
            out.add(CheckpointWriter.Tensor.raw(layer + ZERO_POINT, new long[] {words(rows, bits), groups}, DType.I32, () -> {
                byte[] b = ints(packColumns(arrays.get().zeros(), rows, groups, bits));
                held[0] = null;
                return b;
            }));
        }
        out.add(CheckpointWriter.Tensor.raw(layer + SHAPE, new long[] {2}, DType.I64,
            () -> ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(rows).putLong(cols).array()));
        return out;
    }

    private static byte[] ints(int[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putInt(v);
        }
        return b.array();
    }

    /**
     * config.json's {@code quantization_config}: one group per distinct scheme (in order of first
     * appearance in {@code modules}), targets the exact module names; {@code ignore} as given.
     */
    public static ObjectNode quantizationConfig(Map<String, Scheme> modules, List<String> ignore) {
        Map<Scheme, List<String>> groups = new LinkedHashMap<>();
        modules.forEach((m, s) -> groups.computeIfAbsent(s, k -> new ArrayList<>()).add(m));
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode q = f.objectNode();
        q.put("quant_method", QUANT_METHOD);
        q.put("format", FORMAT);
        q.put("quantization_status", "compressed");
        ObjectNode cg = q.putObject("config_groups");
        int i = 0;
        for (Map.Entry<Scheme, List<String>> e : groups.entrySet()) {
            ObjectNode g = cg.putObject("group_" + i++);
            ArrayNode targets = g.putArray("targets");
            e.getValue().forEach(targets::add);
            g.set("weights", e.getKey().weightsJson());
            g.putNull("input_activations");
            g.putNull("output_activations");
        }
        ArrayNode ig = q.putArray("ignore");
        ignore.forEach(ig::add);
        return q;
    }

    // ---- reading ----

    private record Group(String name, Scheme scheme, List<String> exact, List<Pattern> patterns, boolean linear) {
        boolean matches(String module) {
            return linear || exact.contains(module) || patterns.stream().anyMatch(p -> p.matcher(module).matches());
        }
    }

    private final CheckpointReader checkpoint;
    private final List<Group> groups;
    private final List<String> ignoreExact;
    private final List<Pattern> ignorePatterns;

    private PackQuantized(CheckpointReader checkpoint, List<Group> groups, List<String> ignoreExact,
                          List<Pattern> ignorePatterns) {
        this.checkpoint = checkpoint;
        this.groups = groups;
        this.ignoreExact = ignoreExact;
        this.ignorePatterns = ignorePatterns;
    }

    /** Whether config.json declares {@code quant_method: compressed-tensors}. */
    public static boolean declares(JsonNode quantizationConfig) {
        return QUANT_METHOD.equals(quantizationConfig.path("quant_method").asText(""));
    }

    /**
     * The pack-quantized layers of a checkpoint whose {@code quantization_config} ({@code q}) declares
     * compressed-tensors; fails naming config.json for a scheme this loader does not dequantize.
     */
    public static PackQuantized of(CheckpointReader checkpoint, JsonNode q) {
        String where = checkpoint.dir() + "/config.json quantization_config";
        String format = q.path("format").asText("");
        if (!format.equals(FORMAT)) {
            throw new EvocompressException(where + " has format '" + format + "'; this loader reads compressed-tensors "
                + "format '" + FORMAT + "' only (weight-only integer quantization). Export the model dense.");
        }
        String status = q.path("quantization_status").asText("compressed");
        if (!status.equals("compressed")) {
            throw new EvocompressException(where + " has quantization_status '" + status + "'; only 'compressed' "
                + "checkpoints (packed weights) are read.");
        }
        if (q.hasNonNull("kv_cache_scheme")) {
            throw new EvocompressException(where + " quantizes the KV cache (kv_cache_scheme), which this loader does not "
                + "support: use a weight-only checkpoint.");
        }
        List<Group> groups = new ArrayList<>();
        JsonNode cg = q.path("config_groups");
        if (!cg.isObject() || cg.isEmpty()) {
            throw new EvocompressException(where + " has no config_groups.");
        }
        for (var it = cg.properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            String g = where + ".config_groups." + e.getKey();
            JsonNode group = e.getValue();
            for (String act : List.of("input_activations", "output_activations")) {
                if (group.hasNonNull(act)) {
                    throw new EvocompressException(g + " quantizes activations (" + act + "); this loader reads "
                        + "weight-only quantization (e.g. W4A16) only.");
                }
            }
            JsonNode w = group.path("weights");
            if (!w.isObject()) {
                throw new EvocompressException(g + " has no weights scheme.");
            }
            String type = w.path("type").asText("int");
            if (!type.equals("int")) {
                throw new EvocompressException(g + " has weights of type '" + type + "'; only integer weights "
                    + "(type: int) are supported, not float formats.");
            }
            int bits = w.path("num_bits").asInt(-1);
            if (bits < 2 || bits > 8) {
                throw new EvocompressException(g + " has num_bits " + w.path("num_bits") + "; supported: 2..8.");
            }
            if (w.path("dynamic").asBoolean(false)) {
                throw new EvocompressException(g + " has dynamic weights, which are not stored quantized.");
            }
            String actorder = w.path("actorder").isNull() ? "" : w.path("actorder").asText("");
            if (actorder.equals("group") || actorder.equals("dynamic")) {
                throw new EvocompressException(g + " has actorder '" + actorder + "' (weight_g_idx), which this loader "
                    + "does not read: quantize with actorder null or 'weight'.");
            }
            String strategy = w.path("strategy").asText("");
            int groupSize;
            if (strategy.equals("channel")) {
                groupSize = 0;
            } else if (strategy.equals("group")) {
                groupSize = w.path("group_size").asInt(-1);
                if (groupSize < 1) {
                    throw new EvocompressException(g + " has strategy group but group_size " + w.path("group_size") + ".");
                }
            } else {
                throw new EvocompressException(g + " has strategy '" + strategy + "'; supported: group, channel.");
            }
            List<String> exact = new ArrayList<>();
            List<Pattern> patterns = new ArrayList<>();
            boolean linear = false;
            for (JsonNode t : group.path("targets")) {
                String s = t.asText();
                if (s.equals("Linear")) {
                    linear = true;
                } else if (s.startsWith("re:")) {
                    patterns.add(Pattern.compile(s.substring(3)));
                } else {
                    exact.add(s);
                }
            }
            groups.add(new Group(e.getKey(), new Scheme(bits, w.path("symmetric").asBoolean(true), groupSize), exact,
                patterns, linear));
        }
        List<String> ignoreExact = new ArrayList<>();
        List<Pattern> ignorePatterns = new ArrayList<>();
        for (JsonNode t : q.path("ignore")) {
            String s = t.asText();
            if (s.startsWith("re:")) {
                ignorePatterns.add(Pattern.compile(s.substring(3)));
            } else {
                ignoreExact.add(s);
            }
        }
        return new PackQuantized(checkpoint, groups, ignoreExact, ignorePatterns);
    }

    /** Whether weight tensor {@code weightName} is stored packed (its layer has a {@code weight_packed} tensor). */
    @Override
    public boolean covers(String weightName) {
        return weightName.endsWith(".weight") && checkpoint.has(module(weightName) + PACKED);
    }

    /** The scheme of a module: the group whose exact target names it, else the first whose pattern or Linear does. */
    public Scheme scheme(String module) {
        for (Group g : groups) {
            if (g.exact().contains(module)) {
                return g.scheme();
            }
        }
        boolean ignored = ignoreExact.contains(module) || ignorePatterns.stream().anyMatch(p -> p.matcher(module).matches());
        for (Group g : groups) {
            if (!ignored && g.matches(module)) {
                return g.scheme();
            }
        }
        throw new EvocompressException(checkpoint.dir() + "/config.json: " + module + " is stored packed ("
            + module + PACKED + ") but no quantization_config.config_groups entry targets it.");
    }

    /** The dequantized weight [rows, cols], row-major; errors name the file and the tensor. */
    @Override
    public float[] dequantize(String weightName, int rows, int cols) {
        String layer = module(weightName);
        Scheme s = scheme(layer);
        int bits = s.bits();
        int groups = s.groups(cols);
        int g = s.groupSize() == 0 ? cols : s.groupSize();
        if (checkpoint.has(layer + SHAPE)) {
            long[] shape = checkpoint.file(layer + SHAPE).readLongs(info(layer + SHAPE, DType.I64, new long[] {2}));
            if (shape[0] != rows || shape[1] != cols) {
                throw new EvocompressException(checkpoint.file(layer + SHAPE).path() + ": " + layer + SHAPE + " is "
                    + Arrays.toString(shape) + " but config.json implies [" + rows + ", " + cols + "].");
            }
        }
        int[] codes = unpackRows(ints(layer + PACKED, new long[] {rows, words(cols, bits)}), rows, cols, bits);
        TensorInfo scaleInfo = checkpoint.info(layer + SCALE);
        if (!scaleInfo.dtype().isFloating() || !Arrays.equals(scaleInfo.shape(), new long[] {rows, groups})) {
            throw new EvocompressException(checkpoint.file(layer + SCALE).path() + ": tensor '" + layer + SCALE + "' is "
                + scaleInfo.dtype() + " " + scaleInfo.shapeString() + ", but " + s + " needs a float [" + rows + ", "
                + groups + "].");
        }
        float[] scales = checkpoint.file(layer + SCALE).readFloat(scaleInfo);
        int[] zeros;
        if (s.symmetric()) {
            zeros = new int[rows * groups];
            Arrays.fill(zeros, 1 << (bits - 1));
        } else {
            zeros = unpackColumns(ints(layer + ZERO_POINT, new long[] {words(rows, bits), groups}), rows, groups, bits);
        }
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int p = r * groups + c / g;
                w[r * cols + c] = scales[p] * (codes[r * cols + c] - zeros[p]);
            }
        }
        return w;
    }

    private int[] ints(String name, long[] shape) {
        long[] v = checkpoint.file(name).readLongs(info(name, DType.I32, shape));
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (int) v[i];
        }
        return out;
    }

    private TensorInfo info(String name, DType type, long[] shape) {
        if (!checkpoint.has(name)) {
            throw new EvocompressException("Checkpoint " + checkpoint.dir() + " stores " + name.substring(0, name.lastIndexOf('.'))
                + " pack-quantized but has no tensor '" + name + "'.");
        }
        TensorInfo info = checkpoint.info(name);
        if (info.dtype() != type || !Arrays.equals(info.shape(), shape)) {
            throw new EvocompressException(checkpoint.file(name).path() + ": tensor '" + name + "' is " + info.dtype() + " "
                + info.shapeString() + ", but pack-quantized needs " + type + " " + Arrays.toString(shape) + ".");
        }
        return info;
    }

    private static String module(String weightName) {
        return weightName.substring(0, weightName.length() - ".weight".length());
    }

    /** Parses config.json's quantization_config, or a missing node when there is none. */
    static JsonNode quantizationConfig(CheckpointReader checkpoint) {
        try {
            return JSON.readTree(checkpoint.configJson()).path("quantization_config");
        } catch (IOException e) {
            throw new EvocompressException(checkpoint.dir() + "/config.json is not valid JSON: " + e.getMessage());
        }
    }
}
