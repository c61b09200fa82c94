/// The registry of rules; each rule is defined in its own file beside this one.
let allRules: [any VerifierRule] = [
    UniqueNames(),
    HeaderLayout(),
    UndefinedReference(),
    WidthMismatch(),
    ConstantRange(),
    ParserStates(),
    TableActions(),
    StatementContext(),
    ReadOnlyStandard(),
    StackIndexRule(),
    DeparserEmits(),
]
