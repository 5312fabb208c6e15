package io.evocompress.job;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.serializer.KryoSerializer;

/**
 * Starts the job's Spark context. Under spark-submit the master and settings come from there; run
 * directly, the embedded default is a local master with one task slot ({@code local[1]}): one machine
 * is one device, and the PyTorch engine already uses every core inside a task. Kryo serialization
 * with every shipped class registered ({@link EvocompressKryoRegistrator}) is always on.
 */
public final class SparkContexts {
    public static final String DEFAULT_MASTER = "local[1]";

    private SparkContexts() {
    }

    public static JavaSparkContext start(String appName) {
        SparkConf conf = new SparkConf(true).setAppName("evocompress " + appName);
        if (!conf.contains("spark.master")) {
            conf.setMaster(DEFAULT_MASTER);
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
            conf.setIfMissing("spark.ui.enabled", "false");
        }
        conf.set("spark.serializer", KryoSerializer.class.getName());
        conf.setIfMissing("spark.kryo.registrator", EvocompressKryoRegistrator.class.getName());
        conf.setIfMissing("spark.kryo.registrationRequired", "true");
        JavaSparkContext sc = new JavaSparkContext(conf);
        sc.setLogLevel(conf.get("spark.evocompress.logLevel", "WARN"));
        return sc;
    }
}
