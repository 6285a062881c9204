"""The program's glue that is neither a component nor pure rendering: stack outputs, and what the
machine running `pulumi up` contributes (the artifacts the gateway's mirror serves)."""
