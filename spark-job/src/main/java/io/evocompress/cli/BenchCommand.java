package io.evocompress.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.bench.CompressBenchmark;
import io.evocompress.bench.ForwardBenchmark;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.DType;
import io.evocompress.device.DeviceChoice;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelLoader;
import io.evocompress.model.SyntheticCheckpoint;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Set;

/**
 * {@code evocompress bench forward}: forward throughput against the engine's own matmul throughput;
 * {@code evocompress bench compress}: SparseGPT / GPTQ seconds per layer against the products they
 * cannot avoid, and their database bytes against dense fp16.
 */
final class BenchCommand implements Command {

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "benchmarks: 'bench forward' (forward tokens/s vs the engine's matmul), 'bench compress' (SparseGPT/GPTQ "
            + "seconds per layer vs Cholesky + matmul, bytes vs fp16)";
    }

    @Override
    public Set<String> options() {
        return Set.of("model", "compare-to", "seq-len", "batch", "iterations", "device", "dtype", "hidden", "intermediate", "iters",
            "shapes", "methods");
    }

    @Override
    public Set<String> flags() {
        return Set.of("reference");
    }

    @Override
    public Set<String> subcommands() {
        return Set.of("forward", "compress");
    }

    @Override
    public String help() {
        return """
            Usage: evocompress bench forward [--model URI] [--seq-len N] [--batch B] [--iterations K]
                                             [--device D] [--dtype T] [--json]

            Times the forward pass (median of the timed passes, after a warm-up) and, in the same run on
            the same device, the engine's own matrix multiply on exactly the products the forward's linear
            layers make (each shape as often as one forward does). Prints tokens_per_second, gflops (2
            FLOPs per multiply-add of every linear layer, LM head included, and of attention) and
            matmul_gflops; the goal is gflops of at least half of matmul_gflops.
              --compare-to URI  also run this checkpoint (e.g. the dense model) in the same run: speedup = tokens/s ratio
              --model URI     checkpoint to run (default: a synthetic Llama of about 100M parameters,
                              hidden 768, 12 layers, 12 heads, intermediate 2048, vocab 32000, written to a
                              temporary directory)
              --seq-len N     tokens per sequence (default 512)
              --batch B       sequences per forward (default 1)
              --iterations K  timed passes (default 3)
              --device D, --dtype T   as for eval

            Example:
              deploy/evocompress bench forward --seq-len 512 --batch 1 --json

            Usage: evocompress bench compress [--hidden H] [--intermediate I] [--iters K] [--json]
                   evocompress bench compress --shapes RxC[,RxC...] [--methods M,...] [--reference] [--iters K] [--json]

            Per layer shape, down_proj [H x I] and gate_proj [I x H], with a random weight and a random
            positive-definite Hessian (from 2 x in random inputs): seconds of SparseGPT at 50% and 70% and of
            GPTQ at 3 and 4 bits (group size 128), each including its factorisation, next to the work they
            cannot avoid: the factorisation giving the inverse-Hessian factor (in the engine, as the
            compressors do it) plus one W-by-H product (the engine's float32 matmul); printed as a ratio.
            Also the bytes of each result in the variant database (VariantCodec, fp16 values) against dense
            fp16 (2 bytes per weight). bench/compress-vs-peer runs this and the published algorithm in
            PyTorch (bench/compress_peer.py) one after the other.
              --hidden H        (default 2048)
              --intermediate I  (default 5632)
              --shapes RxC,...  instead: down_proj layers [R x C] only, e.g. 2048x5632,4096x14336
              --methods M,...   with --shapes: of sparsegpt-50, sparsegpt-70, gptq-3, gptq-4 (default all)
              --reference       also time the float64 Java factorisation the engine one replaced (slow:
                                about a minute at 5632 inputs, a quarter of an hour at 14336)
              --iters K         timed runs per figure, median reported (default 1)

            Example (quick):
              deploy/evocompress bench compress --hidden 512 --intermediate 1408 --iters 3
            """;
    }

    @Override
    public ObjectNode run(Args args, Console console) throws IOException {
        if (args.subcommand().equals("compress")) {
            return compress(args, console);
        }
        for (String option : List.of("hidden", "intermediate", "iters", "shapes", "methods", "reference")) {
            if (args.flag(option)) {
                throw new Args.UsageException("--" + option + " applies to 'bench compress', not 'bench forward'");
            }
        }
        int seqLen = args.intOr("seq-len", 512);
        int batch = args.intOr("batch", 1);
        int iterations = args.intOr("iterations", 3);
        if (seqLen < 2 || batch < 1 || iterations < 1) {
            throw new Args.UsageException("--seq-len must be >= 2, --batch and --iterations >= 1");
        }
        Device device = DeviceChoice.resolve(args.getOr("device", "auto"), null);
        DataType dtype = DeviceChoice.dtype(args.getOr("dtype", "auto"), device);
        java.nio.file.Path temporary = null;
        String modelUri = args.get("model").orElse(null);
        try {
            if (modelUri == null) {
                temporary = Files.createTempDirectory("evocompress-bench-");
                Path out = HadoopFiles.path(temporary.resolve("synth-100m").toString());
                console.progress("writing a synthetic ~100M-parameter Llama to %s", out);
                FileSystem fs = HadoopFiles.fileSystem(out, HadoopFiles.defaultConf());
                SyntheticCheckpoint.write(fs, out, SyntheticCheckpoint.configJson(768, 12, 12, 12, 2048, 32000,
                    Math.max(2048, seqLen), true), 0, DType.F32, 1, false);
                modelUri = out.toString();
            }
            ObjectNode result = Main.newResult(name());
            result.put("benchmark", "forward");
            try (CheckpointReader reader = CheckpointReader.open(modelUri);
                 CausalLm model = ModelLoader.load(reader, device, dtype)) {
                if (seqLen > model.config().maxPositionEmbeddings()) {
                    throw new EvocompressException("--seq-len " + seqLen + " exceeds the model's context of "
                        + model.config().maxPositionEmbeddings() + " tokens.");
                }
                console.progress("model %s: %,d parameters on %s (%s), %d threads", modelUri,
                    model.config().parameterCount(), device, dtype, Runtime.getRuntime().availableProcessors());
                ForwardBenchmark.Result r = ForwardBenchmark.run(model, batch, seqLen, iterations,
                    console.lines());
                console.progress("forward %.1f tokens/s, %.1f GFLOP/s = %.0f%% of the engine's matmul %.1f GFLOP/s",
                    r.tokensPerSecond(), r.gflops(), 100 * r.fractionOfMatmul(), r.matmulGflops());
                result.put("model", modelUri);
                result.put("parameters", model.parameterCount());
                result.put("device", device.toString());
                result.put("dtype", dtype.toString());
                result.put("engine", Engine.getInstance().getEngineName() + " " + Engine.getInstance().getVersion());
                result.put("batch", batch);
                result.put("seq_len", seqLen);
                result.put("iterations", iterations);
                result.put("seconds_per_forward", r.secondsPerForward());
                result.put("tokens_per_second", r.tokensPerSecond());
                result.put("gflops", r.gflops());
                result.put("matmul_gflops", r.matmulGflops());
                result.put("fraction_of_matmul", r.fractionOfMatmul());
                String other = args.get("compare-to").orElse(null);
                if (other != null) {
                    // the same benchmark on a second model (e.g. the dense one) in this run, alternating models
                    try (CheckpointReader r2 = CheckpointReader.open(other);
                         CausalLm model2 = ModelLoader.load(r2, device, dtype)) {
                        ForwardBenchmark.Result o = ForwardBenchmark.run(model2, batch, seqLen, iterations,
                            console.lines());
                        ForwardBenchmark.Result again = ForwardBenchmark.run(model, batch, seqLen, iterations,
                            console.lines());
                        double mine = Math.max(r.tokensPerSecond(), again.tokensPerSecond());
                        result.put("tokens_per_second", mine);
                        result.put("compare_to", other);
                        result.put("compare_parameters", model2.parameterCount());
                        result.put("compare_tokens_per_second", o.tokensPerSecond());
                        result.put("speedup", mine / o.tokensPerSecond());
                        console.progress("%s: %.1f tokens/s; %s: %.1f tokens/s; ratio %.3f", modelUri, mine, other,
                            o.tokensPerSecond(), mine / o.tokensPerSecond());
                    }
                }
            }
            return result;
        } finally {
            if (temporary != null) {
                org.apache.hadoop.fs.FileUtil.fullyDelete(temporary.toFile());
            }
        }
    }

    private ObjectNode compress(Args args, Console console) {
        for (String option : List.of("model", "seq-len", "batch", "iterations", "device", "dtype")) {
            if (args.flag(option)) {
                throw new Args.UsageException("--" + option + " applies to 'bench forward', not 'bench compress'");
            }
        }
        int iters = args.intOr("iters", 1);
        if (iters < 1) {
            throw new Args.UsageException("--iters must be at least 1, but was " + iters);
        }
        List<CompressBenchmark.LayerResult> layers;
        int hidden = 0;
        int intermediate = 0;
        if (args.get("shapes").isPresent()) {
            for (String option : List.of("hidden", "intermediate")) {
                if (args.flag(option)) {
                    throw new Args.UsageException("--" + option + " and --shapes exclude each other: give the down_proj "
                        + "shapes as --shapes RxC,...");
                }
            }
            List<int[]> shapes = shapes(args.required("shapes"));
            List<CompressBenchmark.Method> methods = methods(args.getOr("methods",
                "sparsegpt-50,sparsegpt-70,gptq-3,gptq-4"));
            console.progress("bench compress: shapes %s, %d iteration(s), %d threads", args.required("shapes"), iters,
                Runtime.getRuntime().availableProcessors());
            layers = CompressBenchmark.run(shapes, methods, args.flag("reference"), iters, console.lines());
        } else {
            for (String option : List.of("methods", "reference")) {
                if (args.flag(option)) {
                    throw new Args.UsageException("--" + option + " applies with --shapes only");
                }
            }
            hidden = args.intOr("hidden", 2048);
            intermediate = args.intOr("intermediate", 5632);
            checkDims(hidden, intermediate);
            console.progress("bench compress: hidden %d, intermediate %d, %d iteration(s), %d threads", hidden, intermediate,
                iters, Runtime.getRuntime().availableProcessors());
            layers = CompressBenchmark.run(hidden, intermediate, iters, console.lines());
        }
        ObjectNode result = Main.newResult(name());
        result.put("benchmark", "compress");
        if (hidden > 0) {
            result.put("hidden", hidden);
            result.put("intermediate", intermediate);
        }
        result.put("iters", iters);
        result.put("engine", Engine.getInstance().getEngineName() + " " + Engine.getInstance().getVersion());
        com.fasterxml.jackson.databind.node.ArrayNode array = result.putArray("layers");
        for (CompressBenchmark.LayerResult layer : layers) {
            ObjectNode l = array.addObject();
            l.put("layer", layer.layer());
            l.put("rows", layer.rows());
            l.put("cols", layer.cols());
            l.put("cholesky_seconds", layer.choleskySeconds());
            if (!Double.isNaN(layer.referenceCholeskySeconds())) {
                l.put("reference_cholesky_seconds", layer.referenceCholeskySeconds());
            }
            l.put("matmul_seconds", layer.matmulSeconds());
            l.put("dense_fp16_bytes", layer.denseFp16Bytes());
            com.fasterxml.jackson.databind.node.ArrayNode methods = l.putArray("methods");
            for (CompressBenchmark.MethodResult m : layer.methods()) {
                methods.addObject().put("method", m.method()).put("seconds", m.seconds())
                    .put("ratio_to_unavoidable", m.ratio()).put("bytes", m.bytes()).put("bytes_vs_fp16", m.bytesVsFp16());
            }
        }
        return result;
    }

    private static void checkDims(int hidden, int intermediate) {
        if (hidden < 128 || intermediate < 128) {
            throw new Args.UsageException("--hidden and --intermediate must be at least 128 (one group of 128 columns)");
        }
        if (hidden % 128 != 0 || intermediate % 128 != 0) {
            throw new Args.UsageException("--hidden and --intermediate must be multiples of 128 (the GPTQ group size)");
        }
    }

    /** "2048x5632,4096x14336" as {rows, cols} pairs, each a multiple of 128. */
    private static List<int[]> shapes(String value) {
        List<int[]> out = new java.util.ArrayList<>();
        for (String part : value.split(",")) {
            String[] rc = part.trim().toLowerCase(java.util.Locale.ROOT).split("x");
            int rows;
            int cols;
            try {
                rows = rc.length == 2 ? Integer.parseInt(rc[0]) : -1;
                cols = rc.length == 2 ? Integer.parseInt(rc[1]) : -1;
            } catch (NumberFormatException e) {
                rows = -1;
                cols = -1;
            }
            if (rows < 128 || cols < 128 || rows % 128 != 0 || cols % 128 != 0) {
                throw new Args.UsageException("--shapes takes ROWSxCOLS[,ROWSxCOLS...] with both multiples of 128 (the GPTQ "
                    + "group size), e.g. 2048x5632,4096x14336, but had '" + part + "'");
            }
            out.add(new int[] {rows, cols});
        }
        return out;
    }

    private static List<CompressBenchmark.Method> methods(String value) {
        List<CompressBenchmark.Method> out = new java.util.ArrayList<>();
        for (String part : value.split(",")) {
            CompressBenchmark.Method m = CompressBenchmark.Method.parse(part.trim());
            if (m == null) {
                throw new Args.UsageException("--methods takes sparsegpt-50, sparsegpt-70, gptq-3, gptq-4 (comma-separated), "
                    + "but had '" + part + "'");
            }
            out.add(m);
        }
        return out;
    }
}
