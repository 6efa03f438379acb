"""How the pharmacy names an arm (only the pharmacy sees arms: design §7)."""

ARM_LABELS = {"msc": "MSC", "placebo": "placebo", None: "not allocated"}
