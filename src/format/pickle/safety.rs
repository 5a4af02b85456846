//! What a global in a pickle would do if `pickle.load` (or `torch.load(weights_only=False)`) ran
//! it: rebuild a tensor (safe), run a command, evaluate code, open a socket (dangerous), or
//! something glassbox has no list for (unknown).
//!
//! The safe list is the small set a state dict needs — close to what PyTorch's own
//! `weights_only=True` unpickler allows: the tensor rebuild functions, the storage types, dtypes,
//! `torch.Size`, `torch.device`, `collections.OrderedDict` and the containers protocol 2 names
//! for bytes and sets. The dangerous list names modules and functions that execute code, run
//! processes, touch files or the network, or reach arbitrary attributes (the gadgets of known
//! pickle exploits). Everything else is unknown: not necessarily harmful (a
//! `transformers.TrainingArguments`, a numpy array), but code glassbox cannot vouch for.

/// How a global is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Needed to rebuild tensors and state dicts; imports and calls nothing else.
    Safe,
    /// Not on either list.
    Unknown,
    /// Runs code, processes, file or network operations, or reaches arbitrary attributes.
    Dangerous,
}

/// Modules any of whose globals is dangerous.
const DANGEROUS_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "runpy",
    "webbrowser",
    "importlib",
    "shutil",
    "socket",
    "pty",
    "sys",
    "ctypes",
    "multiprocessing",
    "code",
    "codeop",
    "pdb",
    "bdb",
    "timeit",
    "commands",
    "popen2",
    "asyncio",
    "http",
    "urllib",
    "urllib2",
    "requests",
    "ftplib",
    "smtplib",
    "telnetlib",
    "marshal",
    "pickle",
    "_pickle",
    "cPickle",
    "dill",
    "shelve",
    "zipimport",
    "pkgutil",
    "imp",
    "types",
];

/// Dangerous names in otherwise-unlisted modules (`builtins` and Python 2's `__builtin__`, the
/// operator gadgets).
const DANGEROUS_NAMES: &[(&str, &str)] = &[
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("builtins", "execfile"),
    ("builtins", "compile"),
    ("builtins", "getattr"),
    ("builtins", "setattr"),
    ("builtins", "delattr"),
    ("builtins", "__import__"),
    ("builtins", "open"),
    ("builtins", "globals"),
    ("builtins", "locals"),
    ("builtins", "vars"),
    ("builtins", "input"),
    ("builtins", "breakpoint"),
    ("builtins", "memoryview"),
    ("operator", "attrgetter"),
    ("operator", "methodcaller"),
    ("operator", "itemgetter"),
    ("functools", "partial"),
    ("functools", "reduce"),
    ("torch", "load"),
    ("torch.serialization", "load"),
    ("torch._C", "_load_for_lite_interpreter"),
    ("torch.jit", "load"),
    ("numpy", "load"),
    ("numpy", "fromfile"),
    ("numpy.testing._private.utils", "runstring"),
];

const STORAGES: &[&str] = &[
    "FloatStorage",
    "HalfStorage",
    "BFloat16Storage",
    "DoubleStorage",
    "LongStorage",
    "IntStorage",
    "ShortStorage",
    "CharStorage",
    "ByteStorage",
    "BoolStorage",
    "ComplexFloatStorage",
    "ComplexDoubleStorage",
    "UntypedStorage",
];

const DTYPES: &[&str] = &[
    "float32",
    "float",
    "float16",
    "half",
    "bfloat16",
    "float64",
    "double",
    "int64",
    "long",
    "int32",
    "int",
    "int16",
    "short",
    "int8",
    "uint8",
    "bool",
    "complex64",
    "complex128",
    "float8_e4m3fn",
    "float8_e5m2",
];

const SAFE: &[(&str, &str)] = &[
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v3"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch", "Size"),
    ("torch", "device"),
    ("torch.nn.parameter", "Parameter"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "bytearray"),
    ("builtins", "slice"),
    ("builtins", "complex"),
    ("__builtin__", "set"),
    ("_codecs", "encode"),
];

/// Classifies the global `module.name`.
pub fn classify(module: &str, name: &str) -> Class {
    // `__builtin__` is Python 2's `builtins`; `posixpath`/`ntpath` only manipulate strings.
    let canonical = if module == "__builtin__" {
        "builtins"
    } else {
        module
    };
    let top = canonical.split('.').next().unwrap_or(canonical);
    if DANGEROUS_MODULES.contains(&top)
        || DANGEROUS_NAMES.contains(&(canonical, name))
        || (canonical == "builtins" && name.starts_with("__") && name != "__build_class__")
    {
        return Class::Dangerous;
    }
    let storage = (module == "torch" || module == "torch.storage")
        && (STORAGES.contains(&name) || name == "TypedStorage" || name == "_TypedStorage");
    let dtype = module == "torch" && DTYPES.contains(&name);
    if storage || dtype || SAFE.contains(&(canonical, name)) {
        return Class::Safe;
    }
    Class::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_execution_and_code_evaluation_are_dangerous() {
        for (m, n) in [
            ("os", "system"),
            ("posix", "system"),
            ("nt", "system"),
            ("subprocess", "Popen"),
            ("subprocess", "check_output"),
            ("builtins", "eval"),
            ("builtins", "exec"),
            ("__builtin__", "eval"),
            ("builtins", "__import__"),
            ("builtins", "getattr"),
            ("runpy", "run_path"),
            ("webbrowser", "open"),
            ("importlib", "import_module"),
            ("importlib.util", "spec_from_file_location"),
            ("shutil", "rmtree"),
            ("socket", "create_connection"),
            ("pty", "spawn"),
        ] {
            assert_eq!(classify(m, n), Class::Dangerous, "{m}.{n}");
        }
    }

    #[test]
    fn tensor_rebuilding_is_safe_and_the_rest_unknown() {
        for (m, n) in [
            ("collections", "OrderedDict"),
            ("torch._utils", "_rebuild_tensor_v2"),
            ("torch", "FloatStorage"),
            ("torch", "BFloat16Storage"),
            ("torch", "bfloat16"),
            ("_codecs", "encode"),
        ] {
            assert_eq!(classify(m, n), Class::Safe, "{m}.{n}");
        }
        for (m, n) in [
            ("transformers.training_args", "TrainingArguments"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("torch", "NotAStorage"),
            ("builtins", "print"),
            ("collections", "defaultdict"),
        ] {
            assert_eq!(classify(m, n), Class::Unknown, "{m}.{n}");
        }
    }
}
