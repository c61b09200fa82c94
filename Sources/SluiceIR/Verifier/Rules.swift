/// The registry of rules; each rule is defined in its own file beside this one.
let allRules: [any VerifierRule] = []
