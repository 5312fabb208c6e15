package io.evocompress.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.config.JobConfig;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.spark.SparkContexts;
import org.apache.spark.api.java.JavaSparkContext;

import java.util.function.Function;

/**
 * What the commands that run a configured Spark job (build-db, search, schedule, darwin) share: the
 * configuration from {@code --config} with its {@code --set} overrides, one Spark context for the job
 * (its scratch space under the job's output), and the summary line every one of them prints.
 */
final class JobCommands {
    private JobCommands() {
    }

    /** {@code --config FILE} with every {@code --set key=value} applied. */
    static JobConfig config(Args args) {
        return JobConfig.load(args.required("config"), args.all("set"), HadoopFiles.defaultConf());
    }

    /** Runs {@code job} on a Spark context named {@code app}, stopped when it returns or fails. */
    static <T> T onSpark(String app, String output, Function<JavaSparkContext, T> job) {
        try (JavaSparkContext sc = SparkContexts.start(app, output)) {
            return job.apply(sc);
        }
    }

    /** The summary's common head: the command, its output, the result's KL and perplexity, and (empty) baselines. */
    static ObjectNode summary(String command, String output, double kl, double perplexity) {
        ObjectNode result = Main.newResult(command);
        result.put("output", output);
        result.put("kl_divergence", kl);
        result.put("perplexity", perplexity);
        result.putObject("baselines");
        return result;
    }

    /** A baseline's KL and perplexity under the summary's {@code baselines}. */
    static void baseline(ObjectNode summary, String name, double kl, double perplexity) {
        ((ObjectNode) summary.get("baselines")).putObject(name).put("kl_divergence", kl).put("perplexity", perplexity);
    }
}
