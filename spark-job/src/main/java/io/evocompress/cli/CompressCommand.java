package io.evocompress.cli;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.CheckpointWriter;
import io.evocompress.checkpoint.DType;
import io.evocompress.checkpoint.PackQuantized;
import io.evocompress.compress.QuantizationSpec;
import io.evocompress.compress.QuantizedWeight;
import io.evocompress.compress.SparsityPattern;
import io.evocompress.compress.UniformCompression.Method;
import io.evocompress.compress.UniformCompression;
import io.evocompress.data.TextDocuments;
import io.evocompress.data.TextTokenizer;
import io.evocompress.data.TokenSequences;
import io.evocompress.device.DeviceChoice;
import io.evocompress.export.PackQuantizedLayer;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ArchitectureRegistry;
import io.evocompress.model.CausalLm;
import io.evocompress.model.LinearName;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import io.evocompress.model.TensorLayout;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code evocompress compress}: one method at one setting on every linear layer of every block (the
 * uniform baseline), written as a checkpoint {@code eval} loads. Runs in this process (no Spark): the
 * calibration statistics come from {@link io.evocompress.calibration.DenseCalibration}, the layers
 * from {@link UniformCompression}. Quantized layers are written compressed-tensors pack-quantized
 * ({@link PackQuantizedLayer}) or, with {@code --format dense}, dequantized in the output dtype.
 */
final class CompressCommand implements Command {
    static final int DEFAULT_SEQUENCES = 128;
    static final int DEFAULT_SEQ_LEN = 2048;
    static final int CALIBRATION_BATCH = 8;
    /** Calibration windows are sampled from the first (this * sequences * seq-len) tokens of the file. */
    static final int STREAM_FACTOR = 8;

    @Override
    public String name() {
        return "compress";
    }

    @Override
    public String summary() {
        return "compress every linear layer uniformly (sparsegpt, gptq, wanda, magnitude, rtn) into a checkpoint";
    }

    @Override
    public Set<String> options() {
        return Set.of("model", "method", "sparsity", "pattern", "bits", "group-size", "calibration-data",
            "calibration-sequences", "seq-len", "seed", "dtype", "out", "format");
    }

    @Override
    public Set<String> flags() {
        return Set.of("act-order", "symmetric", "overwrite");
    }

    @Override
    public String help() {
        return """
            Usage: evocompress compress --model URI --method M (--sparsity S | --pattern N:M | --bits B)
                                        --out URI [--group-size G] [--act-order] [--symmetric]
                                        [--calibration-data FILE] [--calibration-sequences N] [--seq-len L]
                                        [--seed S] [--dtype T] [--format F] [--overwrite] [--json]

            Compresses every linear layer (q, k, v, o, gate, up, down) of every block the same way and writes
            a Hugging Face checkpoint (config, weights, tokenizer files) that 'evocompress eval' loads.
            Embeddings, norms and the LM head are copied unchanged. Every block's statistics come from the
            dense model's activations. Progress per layer on stderr.
              --method M               sparsegpt | wanda | magnitude (pruning), gptq | rtn (quantization)
              --sparsity S             fraction of zeros per layer, in (0, 1) (pruning methods)
              --pattern N:M            2:4 or 4:8 semi-structured sparsity instead of --sparsity
              --bits B                 2..8 (gptq, rtn; with sparsegpt: also quantize the kept weights)
              --group-size G           input columns per scale/zero, 0 = one per output row (default 128;
                                       for gptq/sparsegpt G must divide 128 or be a multiple of it; a layer
                                       with at most G inputs gets one grid per row)
              --act-order              gptq: process columns by descending Hessian diagonal
              --symmetric              symmetric grids (default: asymmetric min-max)
              --calibration-data FILE  text, .jsonl or any file 'eval --data' reads; required by sparsegpt,
                                       gptq and wanda (there is no default: pick text like your use)
              --calibration-sequences N  random windows (default 128), sampled from the first
                                       8 * N * L tokens of the file
              --seq-len L              tokens per window (default min(2048, context))
              --seed S                 window sampling seed (default 0)
              --dtype T                f32 | f16 | bf16 for the written weights (default: the input's)
              --format F               quantized methods: compressed-tensors (default; pack-quantized, which
                                       vLLM and transformers load) or dense (weights dequantized in --dtype)
              --out URI                output checkpoint directory (written atomically)
              --overwrite              replace an existing --out

            Quantized weights are written in compressed-tensors pack-quantized (codes packed in int32 words,
            scales in --dtype, packed zero points; config.json quantization_config with one group per scheme).
            For that, a layer whose input width the group does not divide, or whose group is not 32, 64 or 128
            (vLLM's kernels), or any layer with --act-order, is quantized with one grid per output row; the
            result lists them as per_channel. --format dense writes every weight as scale * (code - zero) in
            --dtype, dense-sized, with the grids exactly as asked.

            Result: layers_compressed, mean_sparsity, bits and bits_per_weight (quantized: codes plus
            16-bit scales and zeros), seconds, out.

            Example:
              deploy/evocompress compress --model ../shared/fixtures/models/stories260K --method sparsegpt \\
                  --sparsity 0.5 --calibration-data ../shared/fixtures/text/tinystories_train_head.txt \\
                  --calibration-sequences 32 --seq-len 128 --out /tmp/stories260K-sparsegpt50
            """;
    }

    /** The validated command line. */
    private record Request(Method method, SparsityPattern pattern, QuantizationSpec quantization, boolean actOrder,
                           String calibrationData, int sequences, Integer seqLen, long seed, DType dtype,
                           String out, boolean overwrite, boolean compressedTensors) {
        UniformCompression.Settings settings() {
            return new UniformCompression.Settings(method, pattern, quantization, actOrder, compressedTensors);
        }
    }

    @Override
    public ObjectNode run(Args args, Console console) {
        String modelUri = args.required("model");
        Request request = parse(args);

        // Everything about the input is checked before any work.
        ModelConfig config;
        List<int[]> calibration = List.of();
        int seqLen = 0;
        DType dtype;
        try (CheckpointReader model = CheckpointReader.open(modelUri)) {
            config = ModelLoader.config(model);
            TensorLayout layout = TensorLayout.of(config);
            layout.check(model);
            console.progress("model %s: %s, %d blocks, hidden %d, intermediate %d", modelUri, config.modelType(),
                config.numLayers(), config.hiddenSize(), config.intermediateSize());
            checkShapes(request, config);
            dtype = request.dtype() != null ? request.dtype()
                : model.info(layout.shapes().keySet().iterator().next()).dtype();
            Path out = HadoopFiles.path(request.out());
            if (!request.overwrite() && HadoopFiles.exists(HadoopFiles.fileSystem(out, HadoopFiles.defaultConf()), out)) {
                throw new EvocompressException("--out " + out + " already exists: choose another path or add --overwrite.");
            }
            if (request.method().needsCalibration()) {
                seqLen = request.seqLen() != null ? request.seqLen()
                    : Math.min(DEFAULT_SEQ_LEN, config.maxPositionEmbeddings());
                if (seqLen > config.maxPositionEmbeddings()) {
                    throw new EvocompressException("--seq-len " + seqLen + " exceeds the model's context of "
                        + config.maxPositionEmbeddings() + " tokens (max_position_embeddings in " + model.dir()
                        + "/config.json).");
                }
                calibration = calibration(model, config, modelUri, request, seqLen, console);
            }
        }

        UniformCompression.Summary summary;
        Map<String, QuantizedWeight> quantized = new java.util.TreeMap<>();
        List<String> perChannel = new ArrayList<>();
        Map<String, PackQuantized.Scheme> schemes = new java.util.LinkedHashMap<>();
        List<String> fusedDense = new ArrayList<>();
        try (CheckpointReader source = CheckpointReader.open(modelUri);
             CausalLm model = ModelLoader.load(source, DeviceChoice.resolve("auto", null), DataType.FLOAT32)) {
            Device device = model.device();
            console.progress("compressing %d linear layers with %s on %s", config.numLayers() * arch(config).linears(config).size(),
                describe(request), device);
            summary = UniformCompression.run(model, calibration, CALIBRATION_BATCH, request.settings(),
                layer -> {
                    if (request.compressedTensors() && layer.quantized() != null) {
                        String name = arch(config).unitName(layer.block(), layer.layer());
                        quantized.put(name, layer.quantized());
                        if (layer.quantized().groupSize() == 0 && !request.quantization().perChannelGrid()
                            && layer.columns() > request.quantization().groupSize()) {
                            perChannel.add(name);
                        }
                    }
                    console.progress("block %d %-9s [%dx%d]: sparsity %.3f%s%s, %.2f s", layer.block(),
                    layer.layer().name().toLowerCase(java.util.Locale.ROOT), layer.rows(), layer.columns(), layer.sparsity(),
                    layer.storageBits() > 0 ? String.format(", %.3f bits/weight",
                        (double) layer.storageBits() / ((long) layer.rows() * layer.columns())) : "",
                    Double.isNaN(layer.errorEstimate()) ? "" : String.format(", OBS error %.4g", layer.errorEstimate()),
                    layer.seconds());
                });
            Path out = HadoopFiles.path(request.out());
            console.progress("writing %s weights to %s", dtype, out);
            List<CheckpointWriter.Tensor> tensors = tensors(source, model, config, quantized,
                request.quantization() != null && request.quantization().symmetric(), schemes, fusedDense);
            String configJson = source.configJson();
            if (!schemes.isEmpty()) {
                configJson = withQuantizationConfig(configJson, PackQuantized.quantizationConfig(schemes, List.of("lm_head")));
                console.progress("pack-quantized: %d layers%s", schemes.size(), perChannel.isEmpty() ? ""
                    : ", " + perChannel.size() + " with one grid per row (their width does not suit a vLLM group): "
                    + String.join(", ", perChannel));
            }
            if (!fusedDense.isEmpty()) {
                console.progress("%d fused layers (%s) written dequantized: a fused tensor is packed only from one grid, "
                    + "and its parts were quantized separately", fusedDense.size(), String.join(", ", fusedDense));
            }
            new CheckpointWriter(dtype, 1, request.overwrite()).named(source.naming())
                .write(HadoopFiles.fileSystem(out, HadoopFiles.defaultConf()),
                out, configJson, tensors, source.fileSystem(), source.dir());
        }
        double seconds = console.elapsedSeconds();
        console.progress("done: %d layers, mean sparsity %.4f%s in %.1f s", summary.layers(), summary.meanSparsity(),
            Double.isNaN(summary.bitsPerWeight()) ? "" : String.format(", %.3f bits/weight", summary.bitsPerWeight()),
            seconds);

        ObjectNode result = Main.newResult(name());
        result.put("model", modelUri);
        result.put("method", request.method().cliName());
        if (request.pattern() != null) {
            result.put("sparsity", request.pattern().fraction());
            if (request.pattern().isNOfM()) {
                result.put("pattern", request.pattern().n() + ":" + request.pattern().m());
            }
        }
        if (request.quantization() != null) {
            result.put("bits", request.quantization().bits());
            result.put("group_size", request.quantization().groupSize());
        }
        result.put("layers_compressed", summary.layers());
        result.put("weights_compressed", summary.weights());
        result.put("mean_sparsity", summary.meanSparsity());
        if (!Double.isNaN(summary.bitsPerWeight())) {
            result.put("bits_per_weight", summary.bitsPerWeight());
        }
        if (!calibration.isEmpty()) {
            result.put("calibration_sequences", calibration.size());
            result.put("seq_len", seqLen);
        }
        result.put("dtype", dtype.name());
        result.put("format", schemes.isEmpty() ? "dense" : "compressed-tensors");
        if (!schemes.isEmpty()) {
            result.putPOJO("per_channel", perChannel);
        }
        if (!fusedDense.isEmpty()) {
            result.putPOJO("fused_dequantized", fusedDense);
        }
        result.put("seconds", seconds);
        result.put("out", HadoopFiles.path(request.out()).toString());
        return result;
    }

    /** Parses and cross-checks the options; every message names the option. */
    static Request parse(Args args) {
        String methodName = args.required("method");
        Method method = Method.parse(methodName);
        if (method == null) {
            throw new Args.UsageException("--method must be one of sparsegpt, gptq, wanda, magnitude, rtn, but was '"
                + methodName + "'");
        }
        String m = "--method " + method.cliName();
        // sparsity
        SparsityPattern pattern = null;
        if (args.get("sparsity").isPresent() && args.get("pattern").isPresent()) {
            throw new Args.UsageException("give either --sparsity or --pattern, not both");
        }
        if (args.get("sparsity").isPresent() || args.get("pattern").isPresent()) {
            if (!method.prunes()) {
                throw new Args.UsageException((args.get("sparsity").isPresent() ? "--sparsity" : "--pattern")
                    + " does not apply to " + m + " (it quantizes; use --bits)");
            }
            pattern = args.get("sparsity").isPresent() ? unstructured(args.get("sparsity").get())
                : nOfM(args.get("pattern").get());
        } else if (method.prunes()) {
            throw new Args.UsageException(m + " needs --sparsity S (a fraction in (0, 1)) or --pattern 2:4|4:8");
        }
        // quantization
        QuantizationSpec quantization = null;
        if (args.get("bits").isPresent()) {
            if (!method.quantizes() && method != Method.SPARSEGPT) {
                throw new Args.UsageException("--bits does not apply to " + m + " (it prunes; use --sparsity)");
            }
            int bits = intValue(args, "bits");
            if (bits < 2 || bits > 8) {
                throw new Args.UsageException("--bits must be in 2..8, but was " + bits);
            }
            int group = args.get("group-size").isPresent() ? intValue(args, "group-size") : 128;
            if (group < 0) {
                throw new Args.UsageException("--group-size must be 0 (one grid per output row) or positive, but was " + group);
            }
            quantization = new QuantizationSpec(bits, group, args.flag("symmetric"));
            if (method != Method.RTN) {
                try {
                    UniformCompression.blockSize(quantization);
                } catch (IllegalArgumentException e) {
                    throw new Args.UsageException("--group-size " + group + " does not work with " + m
                        + ": it must divide 128 or be a multiple of 128");
                }
            }
        } else if (method.quantizes()) {
            throw new Args.UsageException(m + " needs --bits B (2..8)");
        } else {
            for (String option : List.of("group-size", "symmetric")) {
                if (args.flag(option)) {
                    throw new Args.UsageException("--" + option + " needs --bits (it sets the quantization grid)");
                }
            }
        }
        if (args.flag("act-order") && method != Method.GPTQ) {
            throw new Args.UsageException("--act-order applies to --method gptq only");
        }
        // calibration
        String data = args.get("calibration-data").orElse(null);
        if (method.needsCalibration() && data == null) {
            throw new Args.UsageException(m + " needs --calibration-data FILE: text like the text the model will see "
                + "(there is no default; e.g. a C4 or WikiText sample)");
        }
        if (!method.needsCalibration()) {
            for (String option : List.of("calibration-data", "calibration-sequences", "seq-len", "seed")) {
                if (args.flag(option)) {
                    throw new Args.UsageException("--" + option + " does not apply to " + m + ", which uses no calibration data");
                }
            }
        }
        int sequences = args.intOr("calibration-sequences", DEFAULT_SEQUENCES);
        if (sequences < 1) {
            throw new Args.UsageException("--calibration-sequences must be at least 1, but was " + sequences);
        }
        Integer seqLen = args.get("seq-len").isPresent() ? intValue(args, "seq-len") : null;
        if (seqLen != null && seqLen < 2) {
            throw new Args.UsageException("--seq-len must be at least 2, but was " + seqLen);
        }
        DType dtype = null;
        if (args.get("dtype").isPresent()) {
            try {
                dtype = DType.parseFloating(args.get("dtype").get());
            } catch (RuntimeException e) {
                throw new Args.UsageException("--dtype must be f32, f16 or bf16, but was '" + args.get("dtype").get() + "'");
            }
        }
        String format = args.getOr("format", "compressed-tensors");
        if (!format.equals("compressed-tensors") && !format.equals("dense")) {
            throw new Args.UsageException("--format must be compressed-tensors or dense, but was '" + format + "'");
        }
        return new Request(method, pattern, quantization, args.flag("act-order"), data, sequences, seqLen,
            args.longOr("seed", 0), dtype, args.required("out"), args.flag("overwrite"),
            quantization != null && format.equals("compressed-tensors"));
    }

    private static SparsityPattern unstructured(String value) {
        double s;
        try {
            s = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new Args.UsageException("--sparsity must be a number in (0, 1), but was '" + value + "'");
        }
        if (!(s > 0 && s < 1)) {
            throw new Args.UsageException("--sparsity must be in (0, 1), but was " + value);
        }
        return SparsityPattern.unstructured(s);
    }

    private static SparsityPattern nOfM(String value) {
        return switch (value) {
            case "2:4" -> SparsityPattern.nOfM(2, 4);
            case "4:8" -> SparsityPattern.nOfM(4, 8);
            default -> throw new Args.UsageException("--pattern must be 2:4 or 4:8, but was '" + value + "'");
        };
    }

    private static int intValue(Args args, String name) {
        return args.intOr(name, 0);
    }

    /** N:M needs every layer's input features to split into whole groups of M. */
    private static void checkShapes(Request request, ModelConfig config) {
        if (request.pattern() == null || !request.pattern().isNOfM()) {
            return;
        }
        for (LinearName name : arch(config).linears(config)) {
            long in = name.shape(config)[1];
            if (in % request.pattern().m() != 0) {
                throw new EvocompressException("--pattern " + request.pattern() + " needs every layer's input features to be "
                    + "a multiple of " + request.pattern().m() + ", but " + arch(config).linearPath(name) + " has " + in + ".");
            }
        }
    }

    private static List<int[]> calibration(CheckpointReader model, ModelConfig config, String modelUri, Request request,
                                           int seqLen, Console console) {
        Path data = HadoopFiles.path(request.calibrationData());
        FileSystem fs = HadoopFiles.fileSystem(data, HadoopFiles.defaultConf());
        long wanted = (long) request.sequences() * seqLen;
        int[] stream;
        if (io.evocompress.data.TokenIdsFile.matches(data)) {
            // token ids as eval --data reads them: the stream itself, checked against the vocabulary
            stream = io.evocompress.data.TokenIdsFile.read(fs, data);
            if (stream.length > STREAM_FACTOR * wanted) {
                stream = java.util.Arrays.copyOf(stream, (int) (STREAM_FACTOR * wanted)); // the first 8 N L, as for text
            }
            for (int i = 0; i < stream.length; i++) {
                if (stream[i] >= config.vocabSize()) {
                    throw new EvocompressException("--calibration-data " + data + ": token id " + stream[i] + " at position "
                        + i + " is outside the model's vocabulary [0, " + config.vocabSize() + ").");
                }
            }
        } else {
            List<String> docs = TextDocuments.read(fs, data);
            try (TextTokenizer tokenizer = TextTokenizer.load(model.fileSystem(), model.dir())) {
                tokenizer.checkFits(config, modelUri);
                stream = TokenSequences.stream(tokenizer, docs, config.bosTokenId(), STREAM_FACTOR * wanted);
            }
        }
        if (stream.length < seqLen) {
            throw new EvocompressException("--calibration-data " + data + " holds " + stream.length
                + " tokens, fewer than one window of --seq-len " + seqLen + ": use more text or a shorter --seq-len.");
        }
        List<int[]> sequences = TokenSequences.sample(stream, seqLen, wanted, request.seed());
        console.progress("calibration %s: %d windows of %d tokens sampled from %d tokens (seed %d)", data,
            sequences.size(), seqLen, stream.length, request.seed());
        return sequences;
    }

    private static io.evocompress.model.Architecture arch(ModelConfig config) {
        return ArchitectureRegistry.forType(config.modelType(), "config");
    }

    private static String withQuantizationConfig(String configJson, com.fasterxml.jackson.databind.node.ObjectNode q) {
        try {
            com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
            ObjectNode node = (ObjectNode) json.readTree(configJson);
            node.set("quantization_config", q);
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(node);
        } catch (java.io.IOException | ClassCastException e) {
            throw new EvocompressException("config.json is not a JSON object: " + e.getMessage());
        }
    }

    /**
     * Layout order, in the family's names and fused layout; compressed linear weights from the model
     * (those in {@code quantized} pack-quantized, their schemes added to {@code schemes}; a fused tensor is
     * fused again from its parts' dequantized weights and named in {@code fusedDense}), everything else as read.
     */
    private static List<CheckpointWriter.Tensor> tensors(CheckpointReader source, CausalLm model, ModelConfig config,
                                                         Map<String, QuantizedWeight> quantized, boolean symmetric,
                                                         Map<String, PackQuantized.Scheme> schemes, List<String> fusedDense) {
        io.evocompress.model.Architecture arch = arch(config);
        Map<String, java.util.function.Supplier<float[]>> linears = new java.util.HashMap<>();
        for (int b = 0; b < config.numLayers(); b++) {
            int block = b;
            for (LinearName linear : arch.linears(config)) {
                linears.put(arch.unitName(b, linear) + ".weight", () -> model.block(block).weight(linear).toFloatArray());
            }
        }
        TensorLayout layout = TensorLayout.of(config);
        List<CheckpointWriter.Tensor> out = new ArrayList<>();
        for (Map.Entry<String, long[]> e : layout.shapes().entrySet()) {
            String name = e.getKey();
            java.util.function.Supplier<float[]> values;
            if (layout.isFused(name) && name.endsWith(".weight")) {
                values = () -> layout.fuse(name, part -> linears.get(part).get());   // every part is a linear weight
                if (!quantized.isEmpty()) {
                    fusedDense.add(name.substring(0, name.length() - ".weight".length()));
                }
            } else if (linears.containsKey(name)) {
                String module = name.substring(0, name.length() - ".weight".length());
                QuantizedWeight q = quantized.get(module);
                if (q != null) {
                    PackQuantizedLayer packed = PackQuantizedLayer.of(q, linears.get(name).get(), symmetric);
                    schemes.put(module, packed.scheme());
                    out.addAll(packed.tensors(module));
                    continue;
                }
                values = linears.get(name);
            } else {
                values = () -> source.readFloat(name);
            }
            out.add(new CheckpointWriter.Tensor(name, e.getValue(), values::get));
        }
        return out;
    }

    private static String describe(Request r) {
        StringBuilder sb = new StringBuilder(r.method().cliName());
        if (r.pattern() != null) {
            sb.append(' ').append(r.pattern());
        }
        if (r.quantization() != null) {
            sb.append(' ').append(r.quantization());
        }
        if (r.actOrder()) {
            sb.append(" act-order");
        }
        return sb.toString();
    }
}
