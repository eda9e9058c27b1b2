//! `numeric_enum!`: an enum whose variants are numbers fixed by an interface (the SDM,
//! Linux, `driver/include/crtos.h`), each written once with its name. After RVM1.5's
//! `numeric_enum!` (crates/libvmm), plus a printable name per variant and the list of
//! all variants, which the header test walks.
//!
//! ```ignore
//! numeric_enum! {
//!     /// Doc.
//!     pub enum Color: u32 {
//!         Red = 1 => "red",
//!         Blue = 2 => "blue",
//!     }
//! }
//! assert_eq!(Color::try_from(2), Ok(Color::Blue));
//! assert_eq!(Color::try_from(3), Err(3));  // the unknown number comes back
//! assert_eq!(u32::from(Color::Red), 1);
//! assert_eq!(Color::Red.name(), "red");
//! ```

macro_rules! numeric_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident: $repr:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr($repr)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// Every variant, in the order written.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The variant's printable name.
            #[inline]
            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// The variant's number.
            #[inline]
            pub const fn number(self) -> $repr {
                self as $repr
            }
        }

        impl TryFrom<$repr> for $name {
            /// A number no variant has.
            type Error = $repr;
            #[inline]
            fn try_from(n: $repr) -> Result<Self, $repr> {
                match n {
                    $( $value => Ok($name::$variant), )+
                    other => Err(other),
                }
            }
        }

        impl From<$name> for $repr {
            #[inline]
            fn from(v: $name) -> $repr {
                v as $repr
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}
