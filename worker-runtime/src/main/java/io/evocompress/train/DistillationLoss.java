package io.evocompress.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.evocompress.model.CausalLm;

/**
 * Knowledge distillation from a teacher (the dense model): KL(P_teacher || Q_student) =
 * sum_v p_v (log p_v - log q_v), averaged over the positions b and t &lt; T-1 (the positions
 * {@code eval} scores), log-softmax in float32. The teacher runs on the same ids without gradients:
 * its weights never require them, so no graph is recorded through it and training never changes it.
 */
public final class DistillationLoss implements TrainingObjective {
    private final CausalLm teacher;

    public DistillationLoss(CausalLm teacher) {
        this.teacher = teacher;
    }

    @Override
    public NDArray loss(NDArray logits, NDArray ids) {
        NDManager out = logits.getManager();
        NDArray teacherLogits = teacher.logits(ids.toDevice(teacher.device(), false))
            .toDevice(logits.getDevice(), false).stopGradient();
        teacherLogits.attach(out);
        return klDivergence(teacherLogits, logits);
    }

    /** Mean over positions b, t &lt; T-1 of KL(softmax(teacher) || softmax(student)). */
    static NDArray klDivergence(NDArray teacherLogits, NDArray studentLogits) {
        long t = studentLogits.getShape().get(1);
        String keep = ":, :" + (t - 1) + ", :";
        NDArray logp = teacherLogits.get(keep).toType(DataType.FLOAT32, false).logSoftmax(-1);
        NDArray logq = studentLogits.get(keep).toType(DataType.FLOAT32, false).logSoftmax(-1);
        return logp.exp().mul(logp.sub(logq)).sum(new int[] {-1}).mean();
    }

    @Override
    public String name() {
        return "kd";
    }
}
