package io.evocompress.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.checkpoint.DType;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.SyntheticCheckpoint;
import org.apache.hadoop.fs.Path;

import java.util.Set;

/** {@code evocompress synth-model}: a random-weight Llama checkpoint for benchmarks and scale tests. */
final class SynthModelCommand implements Command {

    @Override
    public String name() {
        return "synth-model";
    }

    @Override
    public String summary() {
        return "write a random-weight Llama checkpoint (benchmarks, scale tests)";
    }

    @Override
    public Set<String> options() {
        return Set.of("hidden", "layers", "heads", "kv-heads", "intermediate", "vocab", "context", "seed", "dtype",
            "shards", "out");
    }

    @Override
    public Set<String> flags() {
        return Set.of("untied", "overwrite");
    }

    @Override
    public String help() {
        return """
            Usage: evocompress synth-model --hidden H --layers L --heads N --kv-heads K --intermediate I
                                           --vocab V --out DIR [--context C] [--seed S] [--dtype T]
                                           [--shards N] [--untied] [--overwrite] [--json]

            Writes a Llama checkpoint (config.json + safetensors, no tokenizer) with random weights drawn
            from N(0, 0.02^2) and unit norms, generated tensor by tensor from --seed (same seed, same bytes).
              --hidden H --layers L --heads N --kv-heads K --intermediate I --vocab V   the shape
              --context C    max_position_embeddings (default 2048)
              --seed S       random seed (default 0)
              --dtype T      float32, float16 or bfloat16 (default float32)
              --shards N     split the weights into N safetensors files plus an index (default 1)
              --untied       a separate lm_head instead of tied embeddings
              --out DIR      output directory on any Hadoop file system (written atomically)

            Example (about 100M parameters):
              deploy/evocompress synth-model --hidden 768 --layers 12 --heads 12 --kv-heads 12 \\
                  --intermediate 2048 --vocab 32000 --out /tmp/synth-100m
            """;
    }

    @Override
    public ObjectNode run(Args args, Console console) {
        String configJson = SyntheticCheckpoint.configJson(args.requiredInt("hidden"), args.requiredInt("layers"),
            args.requiredInt("heads"), args.requiredInt("kv-heads"), args.requiredInt("intermediate"),
            args.requiredInt("vocab"), args.intOr("context", 2048), !args.flag("untied"));
        String out = args.required("out");
        Path path = HadoopFiles.path(out);
        DType dtype = DType.parseFloating(args.getOr("dtype", "float32"));
        console.progress("writing a random %s checkpoint to %s", dtype, path);
        ModelConfig config = SyntheticCheckpoint.write(HadoopFiles.fileSystem(path, HadoopFiles.defaultConf()), path,
            configJson, args.longOr("seed", 0), dtype, args.intOr("shards", 1), args.flag("overwrite"));
        console.progress("done: %,d parameters", config.parameterCount());
        ObjectNode result = Main.newResult(name());
        result.put("out", path.toString());
        result.put("parameters", config.parameterCount());
        result.put("dtype", dtype.name());
        return result;
    }
}
