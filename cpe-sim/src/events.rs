//! The set of Inform events a device has waiting, as a small bit set.

use cwmp::EventCode;

/// Events waiting to be reported, one bit per event code the simulator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct EventSet(u16);

impl EventSet {
    /// No event.
    pub const EMPTY: EventSet = EventSet(0);
    /// `0 BOOTSTRAP`
    pub const BOOTSTRAP: EventSet = EventSet(1);
    /// `1 BOOT`
    pub const BOOT: EventSet = EventSet(1 << 1);
    /// `2 PERIODIC`
    pub const PERIODIC: EventSet = EventSet(1 << 2);
    /// `3 SCHEDULED`
    pub const SCHEDULED: EventSet = EventSet(1 << 3);
    /// `4 VALUE CHANGE`
    pub const VALUE_CHANGE: EventSet = EventSet(1 << 4);
    /// `6 CONNECTION REQUEST`
    pub const CONNECTION_REQUEST: EventSet = EventSet(1 << 5);
    /// `7 TRANSFER COMPLETE`
    pub const TRANSFER_COMPLETE: EventSet = EventSet(1 << 6);
    /// `M Reboot`
    pub const M_REBOOT: EventSet = EventSet(1 << 7);
    /// `M ScheduleInform`
    pub const M_SCHEDULE_INFORM: EventSet = EventSet(1 << 8);
    /// `M Download`
    pub const M_DOWNLOAD: EventSet = EventSet(1 << 9);
    /// `M Upload`
    pub const M_UPLOAD: EventSet = EventSet(1 << 10);
    /// `M ScheduleDownload`
    pub const M_SCHEDULE_DOWNLOAD: EventSet = EventSet(1 << 11);
    /// The events a finished transfer raises, kept until its TransferComplete is
    /// acknowledged.
    pub const TRANSFER_EVENTS: EventSet = EventSet(
        EventSet::TRANSFER_COMPLETE.0
            | EventSet::M_DOWNLOAD.0
            | EventSet::M_UPLOAD.0
            | EventSet::M_SCHEDULE_DOWNLOAD.0,
    );

    /// Each bit with its code, in the order events are listed in an Inform.
    const CODES: [(EventSet, EventCode); 12] = [
        (EventSet::BOOTSTRAP, EventCode::Bootstrap),
        (EventSet::BOOT, EventCode::Boot),
        (EventSet::PERIODIC, EventCode::Periodic),
        (EventSet::SCHEDULED, EventCode::Scheduled),
        (EventSet::VALUE_CHANGE, EventCode::ValueChange),
        (EventSet::CONNECTION_REQUEST, EventCode::ConnectionRequest),
        (EventSet::TRANSFER_COMPLETE, EventCode::TransferComplete),
        (EventSet::M_REBOOT, EventCode::MReboot),
        (EventSet::M_SCHEDULE_INFORM, EventCode::MScheduleInform),
        (EventSet::M_DOWNLOAD, EventCode::MDownload),
        (EventSet::M_UPLOAD, EventCode::MUpload),
        (EventSet::M_SCHEDULE_DOWNLOAD, EventCode::MScheduleDownload),
    ];

    /// Whether every event of `other` is in the set.
    pub fn contains(self, other: EventSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Adds events.
    pub fn insert(&mut self, other: EventSet) {
        self.0 |= other.0;
    }

    /// Removes events.
    pub fn remove(&mut self, other: EventSet) {
        self.0 &= !other.0;
    }

    /// The event codes in the set, in Inform order.
    pub fn codes(self) -> impl Iterator<Item = EventCode> {
        EventSet::CODES
            .into_iter()
            .filter(move |(bit, _)| self.contains(*bit))
            .map(|(_, code)| code)
    }
}

impl std::ops::BitOr for EventSet {
    type Output = EventSet;
    fn bitor(self, other: EventSet) -> EventSet {
        EventSet(self.0 | other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_list_codes_in_order() {
        let mut set = EventSet::M_DOWNLOAD | EventSet::BOOT;
        set.insert(EventSet::TRANSFER_COMPLETE);
        let codes: Vec<_> = set.codes().map(|c| c.to_string()).collect();
        assert_eq!(codes, ["1 BOOT", "7 TRANSFER COMPLETE", "M Download"]);
        set.remove(EventSet::BOOT | EventSet::M_DOWNLOAD);
        assert_eq!(set, EventSet::TRANSFER_COMPLETE);
        assert!(!set.is_empty() && EventSet::EMPTY.is_empty());
    }
}
