//! In the building: queue numbers and tickets, photos, applications accepted at the
//! counter, their payments, and the devices (kiosks, ticket printers) bound to an office.
//! Every state change is a conditional UPDATE, so two counters or two kiosks racing for
//! the same ticket or document cannot both win.

mod applications;
mod devices;
mod photos;
mod queue;

pub use applications::*;
pub use devices::*;
pub use photos::*;
pub use queue::*;
