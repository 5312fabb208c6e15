package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.DType;
import io.evocompress.database.VariantDatabase;
import io.evocompress.export.StitchedCheckpoint;
import io.evocompress.fitness.VariantSource;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelLoader;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code evocompress export --result DIR --out URI}: the searched profile as a Hugging Face checkpoint. */
public final class ExportCommand implements Command {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern HALF = Pattern.compile("^model\\.layers\\.(\\d+)(\\.(self_attn|mlp))?$");

    @Override
    public String name() {
        return "export";
    }

    @Override
    public String summary() {
        return "write a search or schedule result (or a baseline) as a compressed Hugging Face checkpoint";
    }

    @Override
    public Set<String> options() {
        return Set.of("result", "out", "dtype", "profile", "weights");
    }

    @Override
    public Set<String> flags() {
        return Set.of("overwrite");
    }

    @Override
    public String help() {
        return """
            Usage: evocompress export --result DIR --out URI [--profile result|BASELINE] [--dtype f16|bf16|f32] [--overwrite]

            Stitches the profile in DIR/result.json from the dense model and the variant database it was
            searched on, and writes a checkpoint in the Hugging Face layout (config.json, model.safetensors,
            tokenizer files) that `evocompress eval` and standard tools load. Quantized variants are written
            dequantized in --dtype (default f16). Depth profiles: blocks with both halves dropped are removed
            (num_hidden_layers lowered); a dropped half keeps its block with that half's output projection
            zeroed, so it passes its input through the residual. The output is written under a temporary
            name and renamed into place.

              --profile   result (default) or the name of a baseline in result.json (uniform, owl, ...)
              --weights   dense | packed: 4-bit quantized variants written packed (PackedInt4 layout: qweight I32,
                          scales F16, qzeros U8, declared in config.json quantization_config; eval dequantizes on
                          load). Default: packed for a schedule result with quantization.bits 4, else dense.
            Prints checkpoint_bytes (the .safetensors files written) and dense_fp16_bytes (every dense tensor at 2 bytes).

            Example:
              deploy/evocompress export --result target/runs/evopress-sparsity-70 --out target/models/stories-70
            """;
    }

    @Override
    public ObjectNode run(Args args, Console console) throws IOException {
        String resultDir = args.required("result");
        Path resultFile = new Path(HadoopFiles.path(resultDir), "result.json");
        FileSystem rfs = HadoopFiles.fileSystem(resultFile, HadoopFiles.defaultConf());
        JsonNode result;
        try {
            result = JSON.readTree(HadoopFiles.readUtf8(rfs, resultFile, "search result (run search first)"));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new EvocompressException(resultFile + " is not valid JSON (truncated or edited? "
                + e.getOriginalMessage() + "): run the search again, or with --resume if it was killed.", e);
        }
        String which = args.getOr("profile", "result");
        JsonNode entry = which.equals("result") ? result.path("result") : result.path("baselines").path(which);
        if (entry.isMissingNode() || !entry.has("profile")) {
            throw new EvocompressException(resultFile + " has no profile '" + which + "' (profiles: result, "
                + String.join(", ", iterable(result.path("baselines").fieldNames())) + ")");
        }
        String model = result.path("model").asText();
        String domain = result.path("domain").asText();
        DType dtype = DType.parseFloating(args.getOr("dtype", "f16"));
        Path out = HadoopFiles.path(args.required("out"));
        FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
        boolean packed;
        long denseFp16 = 0;
        try (CheckpointReader dense = CheckpointReader.open(model)) {
            int blocks = ModelLoader.config(dense).numLayers();
            Map<String, Integer> levels = new TreeMap<>();
            boolean[] dropA = new boolean[blocks];
            boolean[] dropM = new boolean[blocks];
            VariantSource source = null;
            for (Iterator<Map.Entry<String, JsonNode>> it = entry.get("profile").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (domain.equals("depth")) {
                    Matcher m = HALF.matcher(e.getKey());
                    if (!m.matches() || Integer.parseInt(m.group(1)) >= blocks) {
                        throw new EvocompressException(resultFile + ": '" + e.getKey() + "' is not a block of " + model);
                    }
                    int b = Integer.parseInt(m.group(1));
                    boolean dropped = e.getValue().asInt() != 0;
                    if (m.group(3) == null || m.group(3).equals("self_attn")) {
                        dropA[b] |= dropped;
                    }
                    if (m.group(3) == null || m.group(3).equals("mlp")) {
                        dropM[b] |= dropped;
                    }
                } else {
                    levels.put(e.getKey(), e.getValue().asInt());
                }
            }
            if (!domain.equals("depth")) {
                String db = result.path("database").path("path").asText(null);
                if (db == null) {
                    throw new EvocompressException(resultFile + " names no database; rerun the search.");
                }
                source = VariantDatabase.open(db);
            }
            String weights = args.getOr("weights", result.path("command").asText().equals("schedule")
                && result.path("quantization").path("bits").asInt() == 4 ? "packed" : "dense");
            if (!weights.equals("dense") && !weights.equals("packed")) {
                throw new Args.UsageException("--weights must be dense or packed, but was '" + weights + "'");
            }
            packed = weights.equals("packed");
            for (String name : dense.tensorFiles().keySet()) {
                denseFp16 += 2 * dense.info(name).numel();
            }
            int total = dense.tensorFiles().size();
            console.progress("exporting profile '%s' (%s) of %s to %s in %s", which, domain, model, out, dtype);
            StitchedCheckpoint.write(dense, source, new StitchedCheckpoint.Profile(levels, dropA, dropM), fs, out, dtype,
                args.flag("overwrite"), packed, i -> {
                    if (i % 50 == 0 || i == total) {
                        console.progress("%d/%d tensors", i, total);
                    }
                });
        }
        ObjectNode r = Main.newResult(name());
        r.put("output", out.toString());
        r.put("profile", which);
        r.put("domain", domain);
        long bytes = 0;
        for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(out)) {
            if (st.getPath().getName().endsWith(".safetensors")) {
                bytes += st.getLen();
            }
        }
        r.put("weights", packed ? "packed" : "dense");
        r.put("checkpoint_bytes", bytes);
        r.put("dense_fp16_bytes", denseFp16);
        r.put("size_ratio", (double) bytes / denseFp16);
        r.put("seconds", console.elapsedSeconds());
        return r;
    }

    private static Iterable<String> iterable(Iterator<String> it) {
        return () -> it;
    }
}
