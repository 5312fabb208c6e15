package io.evocompress.calibration;

import io.evocompress.model.LinearName;

import java.util.List;

/**
 * The distinct inputs of a block's linear layers, by role (every family; without a gate the MLP
 * group holds up alone): layers of a group read the same
 * tensor and so share one Hessian. Each group is reported by the block's
 * {@link io.evocompress.model.LinearInputObserver} under its first member.
 */
public enum InputGroup {
    /** The attention's normed input, read by q_proj, k_proj and v_proj. */
    QKV(LinearName.Q_PROJ, LinearName.K_PROJ, LinearName.V_PROJ),
    /** The concatenated attention heads, read by o_proj. */
    O(LinearName.O_PROJ),
    /** The MLP's normed input, read by gate_proj and up_proj. */
    GATE_UP(LinearName.GATE_PROJ, LinearName.UP_PROJ),
    /** silu(gate) * up, read by down_proj. */
    DOWN(LinearName.DOWN_PROJ);

    private final List<LinearName> members;

    InputGroup(LinearName... members) {
        this.members = List.of(members);
    }

    public List<LinearName> members() {
        return members;
    }

    /** The layer under which the observer reports this group's input (the first member). */
    public LinearName reporter() {
        return members.get(0);
    }

    /** The group whose input {@code layer} reads. */
    public static InputGroup of(LinearName layer) {
        return switch (layer) {
            case Q_PROJ, K_PROJ, V_PROJ -> QKV;
            case O_PROJ -> O;
            case GATE_PROJ, UP_PROJ -> GATE_UP;
            case DOWN_PROJ -> DOWN;
        };
    }
}
