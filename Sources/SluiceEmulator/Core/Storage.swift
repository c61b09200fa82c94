extension UnsafeMutablePointer {
    /// Move the first `count` elements into a new allocation of `capacity` (at least `count`)
    /// and free this one: how the emulator's manually managed arrays grow.
    func moved(count: Int, toCapacity capacity: Int) -> UnsafeMutablePointer<Pointee> {
        let p = UnsafeMutablePointer<Pointee>.allocate(capacity: capacity)
        if count > 0 { p.moveInitialize(from: self, count: count) }
        deallocate()
        return p
    }
}
