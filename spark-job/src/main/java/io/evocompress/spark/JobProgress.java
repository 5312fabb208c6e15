package io.evocompress.spark;

import org.apache.spark.SparkStageInfo;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.JavaSparkStatusTracker;

import java.util.function.Consumer;

/**
 * Watches a Spark job from the driver and reports its tasks' progress ("tasks 3/8 done") whenever it
 * changes, at most every {@code periodMillis}. Close it when the job ends.
 */
public final class JobProgress implements AutoCloseable {
    private final Thread thread;
    private volatile boolean running = true;

    public JobProgress(JavaSparkContext sc, String what, long periodMillis, Consumer<String> report) {
        JavaSparkStatusTracker tracker = sc.statusTracker();
        thread = new Thread(() -> {
            String last = "";
            while (running) {
                int done = 0;
                int total = 0;
                int running = 0;
                for (int id : tracker.getActiveStageIds()) {
                    SparkStageInfo info = tracker.getStageInfo(id);
                    if (info != null) {
                        done += info.numCompletedTasks();
                        total += info.numTasks();
                        running += info.numActiveTasks();
                    }
                }
                String line = total == 0 ? "" : what + ": tasks " + done + "/" + total + " done, " + running + " running";
                if (!line.isEmpty() && !line.equals(last)) {
                    report.accept(line);
                    last = line;
                }
                try {
                    Thread.sleep(periodMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "evocompress-progress");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
