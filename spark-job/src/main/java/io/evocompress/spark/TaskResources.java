package io.evocompress.spark;

import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/** What Spark assigned to the running task. */
public final class TaskResources {
    private TaskResources() {
    }

    /** The GPU address assigned to this task (spark.task.resource.gpu.amount), or null for none / outside a task. */
    public static Integer assignedGpu() {
        TaskContext context = TaskContext.get();
        if (context == null) {
            return null;
        }
        ResourceInformation gpu = context.resourcesJMap().get("gpu");
        if (gpu == null || gpu.addresses().length == 0) {
            return null;
        }
        try {
            return Integer.parseInt(gpu.addresses()[0]);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
